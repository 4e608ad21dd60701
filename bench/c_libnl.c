/* The C reference for bench/run.py: the same work as the Python
 * implementations, written the way a libnl user writes it.
 *
 *   c_libnl WORKLOAD ITERATIONS [WARMUP]
 *
 * WORKLOAD is dump_families, getfamily or open_resolve_close. Prints one line
 * of JSON: {"workload", "iterations", "seconds", "us_per_op", "check"}.
 * "check" sums what was decoded in the last iteration so the runner can see
 * that every implementation decoded the same things.
 *
 * Build: cc -O2 c_libnl.c $(pkg-config --cflags --libs libnl-genl-3.0)
 *
 * libnl's defaults are kept (auto-ACK, message peeking, 32 KiB buffers): this
 * is the program a C user would write, not a tuned one.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <netlink/netlink.h>
#include <netlink/attr.h>
#include <netlink/msg.h>
#include <netlink/socket.h>
#include <netlink/genl/genl.h>
#include <netlink/genl/ctrl.h>
#include <linux/genetlink.h>

#define MAX_FAMILIES 256
#define MAX_OPS 256
#define MAX_GROUPS 64

/* What a Python implementation builds as objects: copied out of the message
 * (libnl frees it after the callback). */
struct op { uint32_t id, flags; };
struct group { char name[GENL_NAMSIZ]; uint32_t id; };
struct family {
    uint16_t id;
    char name[GENL_NAMSIZ];
    uint32_t version;
    int n_ops, n_groups;
    struct op ops[MAX_OPS];
    struct group groups[MAX_GROUPS];
};

struct result {
    int n;
    struct family fam[MAX_FAMILIES];
};

static void die(const char *what, int err)
{
    fprintf(stderr, "c_libnl: %s: %s\n", what, nl_geterror(err));
    exit(1);
}

static int parse_family(struct nl_msg *msg, void *arg)
{
    struct result *res = arg;
    struct nlattr *tb[CTRL_ATTR_MAX + 1];
    struct nlattr *nla;
    struct family *f;
    int rem, err;

    err = genlmsg_parse(nlmsg_hdr(msg), 0, tb, CTRL_ATTR_MAX, NULL);
    if (err < 0)
        return err;
    if (res->n >= MAX_FAMILIES || !tb[CTRL_ATTR_FAMILY_ID] || !tb[CTRL_ATTR_FAMILY_NAME])
        return NL_SKIP;
    f = &res->fam[res->n++];
    f->id = nla_get_u16(tb[CTRL_ATTR_FAMILY_ID]);
    nla_strlcpy(f->name, tb[CTRL_ATTR_FAMILY_NAME], sizeof(f->name));
    f->version = tb[CTRL_ATTR_VERSION] ? nla_get_u32(tb[CTRL_ATTR_VERSION]) : 0;
    f->n_ops = 0;
    f->n_groups = 0;
    if (tb[CTRL_ATTR_OPS]) {
        nla_for_each_nested(nla, tb[CTRL_ATTR_OPS], rem) {
            struct nlattr *to[CTRL_ATTR_OP_MAX + 1];
            if (f->n_ops >= MAX_OPS || nla_parse_nested(to, CTRL_ATTR_OP_MAX, nla, NULL) < 0)
                break;
            if (!to[CTRL_ATTR_OP_ID])
                continue;
            f->ops[f->n_ops].id = nla_get_u32(to[CTRL_ATTR_OP_ID]);
            f->ops[f->n_ops].flags = to[CTRL_ATTR_OP_FLAGS] ? nla_get_u32(to[CTRL_ATTR_OP_FLAGS]) : 0;
            f->n_ops++;
        }
    }
    if (tb[CTRL_ATTR_MCAST_GROUPS]) {
        nla_for_each_nested(nla, tb[CTRL_ATTR_MCAST_GROUPS], rem) {
            struct nlattr *tg[CTRL_ATTR_MCAST_GRP_MAX + 1];
            if (f->n_groups >= MAX_GROUPS
                || nla_parse_nested(tg, CTRL_ATTR_MCAST_GRP_MAX, nla, NULL) < 0)
                break;
            if (!tg[CTRL_ATTR_MCAST_GRP_NAME] || !tg[CTRL_ATTR_MCAST_GRP_ID])
                continue;
            nla_strlcpy(f->groups[f->n_groups].name, tg[CTRL_ATTR_MCAST_GRP_NAME], GENL_NAMSIZ);
            f->groups[f->n_groups].id = nla_get_u32(tg[CTRL_ATTR_MCAST_GRP_ID]);
            f->n_groups++;
        }
    }
    return NL_OK;
}

static struct nl_sock *open_socket(struct result *res)
{
    struct nl_sock *sk = nl_socket_alloc();
    int err;

    if (!sk) {
        fprintf(stderr, "c_libnl: nl_socket_alloc failed\n");
        exit(1);
    }
    if ((err = genl_connect(sk)) < 0)
        die("genl_connect", err);
    if ((err = nl_socket_modify_cb(sk, NL_CB_VALID, NL_CB_CUSTOM, parse_family, res)) < 0)
        die("nl_socket_modify_cb", err);
    return sk;
}

static void send_getfamily(struct nl_sock *sk, int flags, const char *name)
{
    struct nl_msg *msg = nlmsg_alloc();
    int err;

    if (!msg) {
        fprintf(stderr, "c_libnl: nlmsg_alloc failed\n");
        exit(1);
    }
    if (!genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, GENL_ID_CTRL, 0, flags, CTRL_CMD_GETFAMILY, 2))
        die("genlmsg_put", NLE_NOMEM);
    if (name && (err = nla_put_string(msg, CTRL_ATTR_FAMILY_NAME, name)) < 0)
        die("nla_put_string", err);
    if ((err = nl_send_auto(sk, msg)) < 0)
        die("nl_send_auto", err);
    nlmsg_free(msg);
}

/* W1: one CTRL_CMD_GETFAMILY dump, every family decoded. A dump gets no ACK
 * (the kernel skips it for NLM_F_DUMP), so nl_recvmsgs returns at NLMSG_DONE. */
static void dump_families(struct nl_sock *sk, struct result *res)
{
    int err;

    res->n = 0;
    send_getfamily(sk, NLM_F_DUMP, NULL);
    if ((err = nl_recvmsgs_default(sk)) < 0)
        die("nl_recvmsgs (dump)", err);
}

/* W2: GETFAMILY for nlctrl; nl_recvmsgs returns after the reply, and the ACK
 * that auto-ACK asked for is consumed by nl_wait_for_ack. */
static void getfamily(struct nl_sock *sk, struct result *res)
{
    int err;

    res->n = 0;
    send_getfamily(sk, 0, "nlctrl");
    if ((err = nl_recvmsgs_default(sk)) < 0)
        die("nl_recvmsgs", err);
    if ((err = nl_wait_for_ack(sk)) < 0)
        die("nl_wait_for_ack", err);
}

/* W3: a fresh socket, genl_ctrl_resolve, free. */
static int open_resolve_close(void)
{
    struct nl_sock *sk = nl_socket_alloc();
    int id, err;

    if (!sk) {
        fprintf(stderr, "c_libnl: nl_socket_alloc failed\n");
        exit(1);
    }
    if ((err = genl_connect(sk)) < 0)
        die("genl_connect", err);
    id = genl_ctrl_resolve(sk, "nlctrl");
    if (id < 0)
        die("genl_ctrl_resolve", id);
    nl_socket_free(sk);
    return id;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* The timed part runs in CHUNKS equal chunks; us_per_op is the median chunk's
 * (bursts of noise on a shared machine then move no figure), the same
 * statistic benchlib.py reports for the Python implementations. */
#define CHUNKS 10

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *) a, y = *(const double *) b;
    return (x > y) - (x < y);
}

static double median_us(double *per_op, int n)
{
    qsort(per_op, (size_t) n, sizeof(*per_op), cmp_double);
    return n % 2 ? per_op[n / 2] : (per_op[n / 2 - 1] + per_op[n / 2]) / 2;
}

static void print_check(const struct result *res)
{
    long ops = 0, groups = 0, ids = 0;
    int i;

    for (i = 0; i < res->n; i++) {
        ops += res->fam[i].n_ops;
        groups += res->fam[i].n_groups;
        ids += res->fam[i].id;
    }
    printf("{\"families\": %d, \"ops\": %ld, \"groups\": %ld, \"id_sum\": %ld}", res->n, ops,
           groups, ids);
}

int main(int argc, char **argv)
{
    static struct result res;
    struct nl_sock *sk = NULL;
    const char *workload;
    long iterations, warmup, chunk, i;
    double t0, t1, seconds = 0, per_op[CHUNKS];
    int id = 0, c;

    if (argc < 3) {
        fprintf(stderr, "usage: %s dump_families|getfamily|open_resolve_close ITERATIONS [WARMUP]\n",
                argv[0]);
        return 2;
    }
    workload = argv[1];
    iterations = atol(argv[2]);
    warmup = argc > 3 ? atol(argv[3]) : iterations / 10 + 1;
    if (iterations <= 0)
        return 2;
    chunk = iterations / CHUNKS > 0 ? iterations / CHUNKS : 1;
    iterations = chunk * CHUNKS;

    if (!strcmp(workload, "dump_families") || !strcmp(workload, "getfamily")) {
        void (*work)(struct nl_sock *, struct result *) =
            !strcmp(workload, "getfamily") ? getfamily : dump_families;
        sk = open_socket(&res);
        for (i = 0; i < warmup; i++)
            work(sk, &res);
        for (c = 0; c < CHUNKS; c++) {
            t0 = now();
            for (i = 0; i < chunk; i++)
                work(sk, &res);
            t1 = now();
            seconds += t1 - t0;
            per_op[c] = (t1 - t0) / chunk * 1e6;
        }
        nl_socket_free(sk);
    } else if (!strcmp(workload, "open_resolve_close")) {
        for (i = 0; i < warmup; i++)
            open_resolve_close();
        for (c = 0; c < CHUNKS; c++) {
            t0 = now();
            for (i = 0; i < chunk; i++)
                id = open_resolve_close();
            t1 = now();
            seconds += t1 - t0;
            per_op[c] = (t1 - t0) / chunk * 1e6;
        }
        res.n = 1;
        res.fam[0].id = (uint16_t)id;
        res.fam[0].n_ops = 0;
        res.fam[0].n_groups = 0;
    } else {
        fprintf(stderr, "c_libnl: unknown workload %s\n", workload);
        return 2;
    }

    printf("{\"workload\": \"%s\", \"iterations\": %ld, \"seconds\": %.9f, \"us_per_op\": %.4f, "
           "\"check\": ",
           workload, iterations, seconds, median_us(per_op, CHUNKS));
    print_check(&res);
    printf("}\n");
    return 0;
}
