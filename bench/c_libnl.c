/* The C reference for bench/run.py: the same work as the Python
 * implementations, written the way a libnl user writes it.
 *
 *   c_libnl WORKLOAD ITERATIONS [WARMUP]
 *   c_libnl netdev_notify CYCLES [WARMUP [PAIRS]]
 *   c_libnl cold_start
 *
 * WORKLOAD is dump_families, getfamily, open_resolve_close, linkinfo_dump,
 * threads_shared or threads_own (W8: W2 from 4 threads, on one socket behind
 * a mutex or on a socket per thread; ITERATIONS counts requests of all threads).
 * Prints one line of JSON: {"workload", "iterations", "seconds", "us_per_op",
 * "check"}. "check" sums what was decoded in the last iteration so the runner
 * can see that every implementation decoded the same things.
 *
 * linkinfo_dump (W5), netdev_notify (W6) and cold_start are run by bench/run.py
 * inside the network namespace it made (`ip netns exec NS c_libnl ...`), as are
 * the Python implementations of the same workloads.
 *
 * Build: cc -O2 -pthread c_libnl.c $(pkg-config --cflags --libs libnl-genl-3.0)
 *
 * libnl's defaults are kept (auto-ACK, message peeking, 32 KiB buffers): this
 * is the program a C user would write, not a tuned one.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <netlink/netlink.h>
#include <netlink/attr.h>
#include <netlink/msg.h>
#include <netlink/socket.h>
#include <netlink/genl/genl.h>
#include <netlink/genl/ctrl.h>
#include <linux/genetlink.h>
#include <linux/ethtool_netlink.h>
#include <net/if.h>

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

/* W5: an ethtool linkinfo-get dump (NLM_F_DUMP, an empty header nest: every
 * device), each reply parsed with nla_parse and nla_parse_nested into a
 * struct, the C counterpart of a dict by names. */
#define MAX_DEVICES 65536 /* W5's largest dump is 20,000 devices */

struct linkinfo {
    uint32_t ifindex;
    char name[IFNAMSIZ];
    uint8_t port, phyaddr, tp_mdix, tp_mdix_ctrl, transceiver;
};

struct links {
    int n;
    struct linkinfo link[MAX_DEVICES];
};

static uint8_t get_u8(struct nlattr **tb, int type)
{
    return tb[type] ? nla_get_u8(tb[type]) : 0;
}

static int parse_linkinfo(struct nl_msg *msg, void *arg)
{
    struct links *res = arg;
    struct nlattr *tb[ETHTOOL_A_LINKINFO_MAX + 1];
    struct nlattr *th[ETHTOOL_A_HEADER_MAX + 1];
    struct linkinfo *l;
    int err;

    err = genlmsg_parse(nlmsg_hdr(msg), 0, tb, ETHTOOL_A_LINKINFO_MAX, NULL);
    if (err < 0)
        return err;
    if (res->n >= MAX_DEVICES || !tb[ETHTOOL_A_LINKINFO_HEADER])
        return NL_SKIP;
    err = nla_parse_nested(th, ETHTOOL_A_HEADER_MAX, tb[ETHTOOL_A_LINKINFO_HEADER], NULL);
    if (err < 0)
        return err;
    l = &res->link[res->n++];
    l->ifindex = th[ETHTOOL_A_HEADER_DEV_INDEX] ? nla_get_u32(th[ETHTOOL_A_HEADER_DEV_INDEX]) : 0;
    if (th[ETHTOOL_A_HEADER_DEV_NAME])
        nla_strlcpy(l->name, th[ETHTOOL_A_HEADER_DEV_NAME], sizeof(l->name));
    else
        l->name[0] = '\0';
    l->port = get_u8(tb, ETHTOOL_A_LINKINFO_PORT);
    l->phyaddr = get_u8(tb, ETHTOOL_A_LINKINFO_PHYADDR);
    l->tp_mdix = get_u8(tb, ETHTOOL_A_LINKINFO_TP_MDIX);
    l->tp_mdix_ctrl = get_u8(tb, ETHTOOL_A_LINKINFO_TP_MDIX_CTRL);
    l->transceiver = get_u8(tb, ETHTOOL_A_LINKINFO_TRANSCEIVER);
    return NL_OK;
}

static void linkinfo_dump(struct nl_sock *sk, int family, struct links *res)
{
    struct nl_msg *msg = nlmsg_alloc();
    struct nlattr *header;
    int err;

    if (!msg) {
        fprintf(stderr, "c_libnl: nlmsg_alloc failed\n");
        exit(1);
    }
    res->n = 0;
    if (!genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, family, 0, NLM_F_DUMP,
                     ETHTOOL_MSG_LINKINFO_GET, ETHTOOL_GENL_VERSION))
        die("genlmsg_put", NLE_NOMEM);
    /* nla_nest_end would drop the empty nest; the request carries it, as
     * the Python implementations send {"header": {}}. */
    if (!(header = nla_nest_start(msg, ETHTOOL_A_LINKINFO_HEADER)))
        die("nla_nest_start", NLE_NOMEM);
    if ((err = nla_nest_end_keep_empty(msg, header)) < 0)
        die("nla_nest_end_keep_empty", err);
    if ((err = nl_send_auto(sk, msg)) < 0)
        die("nl_send_auto", err);
    nlmsg_free(msg);
    if ((err = nl_recvmsgs_default(sk)) < 0)
        die("nl_recvmsgs (linkinfo dump)", err);
}

static void print_links_check(const struct links *res)
{
    long ifindexes = 0, name_bytes = 0, fields = 0;
    int i;

    for (i = 0; i < res->n; i++) {
        const struct linkinfo *l = &res->link[i];
        ifindexes += l->ifindex;
        name_bytes += (long) strlen(l->name);
        fields += l->port + l->phyaddr + l->tp_mdix + l->tp_mdix_ctrl + l->transceiver;
    }
    printf("{\"messages\": %d, \"ifindex_sum\": %ld, \"name_bytes\": %ld, \"field_sum\": %ld}",
           res->n, ifindexes, name_bytes, fields);
}

/* W6: netdev "mgmt" notifications. The values are in include/uapi/linux/netdev.h,
 * which older distribution headers lack. */
#define NETDEV_FAMILY_NAME "netdev"
#define NETDEV_MCGRP_MGMT "mgmt"
enum {
    W6_NETDEV_A_DEV_IFINDEX = 1,
    W6_NETDEV_A_DEV_PAD,
    W6_NETDEV_A_DEV_XDP_FEATURES,
    W6_NETDEV_A_DEV_XDP_ZC_MAX_SEGS,
    W6_NETDEV_A_DEV_XDP_RX_METADATA_FEATURES,
    W6_NETDEV_A_DEV_XSK_FEATURES,
    W6_NETDEV_A_DEV_MAX = W6_NETDEV_A_DEV_XSK_FEATURES,
};
enum { W6_DEV_ADD_NTF = 2, W6_DEV_DEL_NTF = 3, W6_DEV_CHANGE_NTF = 4 };
#define MAX_NOTES 65536
/* The devices' ip link group: deleting the group is one request (and one
 * unregister batch), where deleting device by device costs an RCU grace
 * period each. W5's devices are in group 0. */
#define W6_GROUP 6
#define W6_DELETE "ip link delete group 6"

struct netdev_dev {
    uint8_t cmd;
    uint32_t ifindex, xdp_zc_max_segs;
    uint64_t xdp_features, xdp_rx_metadata_features, xsk_features;
};

struct notes {
    long n, add, del, change, attrs;
    struct netdev_dev dev[MAX_NOTES];
};

static int parse_netdev(struct nl_msg *msg, void *arg)
{
    struct notes *res = arg;
    struct nlmsghdr *nlh = nlmsg_hdr(msg);
    struct nlattr *tb[W6_NETDEV_A_DEV_MAX + 1];
    struct netdev_dev *d;
    int err, i;

    err = genlmsg_parse(nlh, 0, tb, W6_NETDEV_A_DEV_MAX, NULL);
    if (err < 0)
        return err;
    d = &res->dev[res->n++ % MAX_NOTES];
    d->cmd = genlmsg_hdr(nlh)->cmd;
    d->ifindex = tb[W6_NETDEV_A_DEV_IFINDEX] ? nla_get_u32(tb[W6_NETDEV_A_DEV_IFINDEX]) : 0;
    d->xdp_features = tb[W6_NETDEV_A_DEV_XDP_FEATURES]
        ? nla_get_u64(tb[W6_NETDEV_A_DEV_XDP_FEATURES]) : 0;
    d->xdp_zc_max_segs = tb[W6_NETDEV_A_DEV_XDP_ZC_MAX_SEGS]
        ? nla_get_u32(tb[W6_NETDEV_A_DEV_XDP_ZC_MAX_SEGS]) : 0;
    d->xdp_rx_metadata_features = tb[W6_NETDEV_A_DEV_XDP_RX_METADATA_FEATURES]
        ? nla_get_u64(tb[W6_NETDEV_A_DEV_XDP_RX_METADATA_FEATURES]) : 0;
    d->xsk_features = tb[W6_NETDEV_A_DEV_XSK_FEATURES]
        ? nla_get_u64(tb[W6_NETDEV_A_DEV_XSK_FEATURES]) : 0;
    for (i = 1; i <= W6_NETDEV_A_DEV_MAX; i++)
        if (tb[i] && i != W6_NETDEV_A_DEV_PAD)
            res->attrs++;
    res->add += d->cmd == W6_DEV_ADD_NTF;
    res->del += d->cmd == W6_DEV_DEL_NTF;
    res->change += d->cmd == W6_DEV_CHANGE_NTF;
    return NL_OK;
}

/* Everything queued on the (non-blocking) socket, one datagram per
 * nl_recvmsgs; an empty queue ends it with -NLE_AGAIN. */
static void drain(struct nl_sock *sk)
{
    int err;

    while ((err = nl_recvmsgs_default(sk)) >= 0)
        ;
    if (err != -NLE_AGAIN)
        die("nl_recvmsgs (notifications)", err);
}

static void run_ip(const char *batch_fmt, long pairs)
{
    FILE *ip = popen("ip -batch -", "w");
    long i;

    if (!ip) {
        perror("c_libnl: popen ip");
        exit(1);
    }
    for (i = 0; i < pairs; i++)
        fprintf(ip, batch_fmt, (long) getpid(), i, W6_GROUP, (long) getpid(), i);
    if (pclose(ip) != 0) {
        fprintf(stderr, "c_libnl: ip -batch failed\n");
        exit(1);
    }
}

/* One cycle: PAIRS veth pairs created, then deleted (untimed); the timed
 * part is receiving and parsing the notifications each step queued. */
static double notify_cycle(struct nl_sock *sk, struct notes *res, long pairs)
{
    double t0, t1, t2, t3;

    res->n = res->add = res->del = res->change = res->attrs = 0;
    run_ip("link add w6%lda%ld group %d type veth peer name w6%ldb%ld\n", pairs);
    t0 = now();
    drain(sk);
    t1 = now();
    if (system(W6_DELETE) != 0) {
        fprintf(stderr, "c_libnl: ip link delete group failed\n");
        exit(1);
    }
    t2 = now();
    drain(sk);
    t3 = now();
    return (t1 - t0) + (t3 - t2);
}

/* Cold start: a fresh process, the first request by name (genl_ctrl_resolve,
 * then the request) against the second (the id already known). */
static int parse_linkstate(struct nl_msg *msg, void *arg)
{
    int *link = arg;
    struct nlattr *tb[ETHTOOL_A_LINKSTATE_MAX + 1];
    struct nlattr *th[ETHTOOL_A_HEADER_MAX + 1];
    int err;

    err = genlmsg_parse(nlmsg_hdr(msg), 0, tb, ETHTOOL_A_LINKSTATE_MAX, NULL);
    if (err < 0)
        return err;
    if (tb[ETHTOOL_A_LINKSTATE_HEADER]
        && nla_parse_nested(th, ETHTOOL_A_HEADER_MAX, tb[ETHTOOL_A_LINKSTATE_HEADER], NULL) < 0)
        return NL_SKIP;
    *link = tb[ETHTOOL_A_LINKSTATE_LINK] ? nla_get_u8(tb[ETHTOOL_A_LINKSTATE_LINK]) : -1;
    return NL_OK;
}

static int linkstate_lo(struct nl_sock *sk, int family)
{
    struct nl_msg *msg = nlmsg_alloc();
    struct nlattr *header;
    int err, link = -2;

    if (!msg) {
        fprintf(stderr, "c_libnl: nlmsg_alloc failed\n");
        exit(1);
    }
    if ((err = nl_socket_modify_cb(sk, NL_CB_VALID, NL_CB_CUSTOM, parse_linkstate, &link)) < 0)
        die("nl_socket_modify_cb", err);
    if (!genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, family, 0, 0, ETHTOOL_MSG_LINKSTATE_GET,
                     ETHTOOL_GENL_VERSION))
        die("genlmsg_put", NLE_NOMEM);
    if (!(header = nla_nest_start(msg, ETHTOOL_A_LINKSTATE_HEADER)))
        die("nla_nest_start", NLE_NOMEM);
    if ((err = nla_put_string(msg, ETHTOOL_A_HEADER_DEV_NAME, "lo")) < 0)
        die("nla_put_string", err);
    nla_nest_end(msg, header);
    if ((err = nl_send_auto(sk, msg)) < 0)
        die("nl_send_auto", err);
    nlmsg_free(msg);
    if ((err = nl_recvmsgs_default(sk)) < 0)
        die("nl_recvmsgs (linkstate)", err);
    if ((err = nl_wait_for_ack(sk)) < 0)
        die("nl_wait_for_ack", err);
    return link;
}

static int cold_start(void)
{
    struct nl_sock *sk;
    double t0, t1, t2, t3;
    int family, first, second, err;

    t0 = now();
    if (!(sk = nl_socket_alloc())) {
        fprintf(stderr, "c_libnl: nl_socket_alloc failed\n");
        exit(1);
    }
    if ((err = genl_connect(sk)) < 0)
        die("genl_connect", err);
    t1 = now();
    if ((family = genl_ctrl_resolve(sk, ETHTOOL_GENL_NAME)) < 0)
        die("genl_ctrl_resolve", family);
    first = linkstate_lo(sk, family);
    t2 = now();
    second = linkstate_lo(sk, family);
    t3 = now();
    nl_socket_free(sk);
    printf("{\"workload\": \"cold_start\", \"open_ms\": %.6f, \"first_ms\": %.6f, "
           "\"second_ms\": %.6f, \"check\": {\"link\": [%d, %d]}}\n",
           (t1 - t0) * 1e3, (t2 - t1) * 1e3, (t3 - t2) * 1e3, first, second);
    return 0;
}

static struct nl_sock *connect_or_die(void)
{
    struct nl_sock *sk = nl_socket_alloc();
    int err;

    if (!sk) {
        fprintf(stderr, "c_libnl: nl_socket_alloc failed\n");
        exit(1);
    }
    if ((err = genl_connect(sk)) < 0)
        die("genl_connect", err);
    return sk;
}

static int run_linkinfo_dump(long chunk, long warmup)
{
    static struct links res;
    struct nl_sock *sk = connect_or_die();
    double t0, t1, seconds = 0, per_op[CHUNKS];
    int family, err, c;
    long i;

    if ((family = genl_ctrl_resolve(sk, ETHTOOL_GENL_NAME)) < 0)
        die("genl_ctrl_resolve ethtool", family);
    if ((err = nl_socket_modify_cb(sk, NL_CB_VALID, NL_CB_CUSTOM, parse_linkinfo, &res)) < 0)
        die("nl_socket_modify_cb", err);
    for (i = 0; i < warmup; i++)
        linkinfo_dump(sk, family, &res);
    for (c = 0; c < CHUNKS; c++) {
        t0 = now();
        for (i = 0; i < chunk; i++)
            linkinfo_dump(sk, family, &res);
        t1 = now();
        seconds += t1 - t0;
        per_op[c] = (t1 - t0) / chunk * 1e6;
    }
    nl_socket_free(sk);
    printf("{\"workload\": \"linkinfo_dump\", \"iterations\": %ld, \"seconds\": %.9f, "
           "\"us_per_op\": %.4f, \"check\": ",
           chunk * CHUNKS, seconds, median_us(per_op, CHUNKS));
    print_links_check(&res);
    printf("}\n");
    return 0;
}

/* us_per_op is per notification: the median over chunks of (timed seconds /
 * notifications) in each chunk's cycles. */
static int run_netdev_notify(long chunk, long warmup, long pairs)
{
    static struct notes res;
    struct nl_sock *sk = connect_or_die();
    double timed, seconds = 0, per_op[CHUNKS];
    long i, count, total = 0;
    int group, err, c;

    /* libnl's 32 KiB receive buffer holds a few dozen notifications; a C
     * user expecting bursts asks for more, as the Python implementations do. */
    if ((err = nl_socket_set_buffer_size(sk, 4 << 20, 0)) < 0)
        die("nl_socket_set_buffer_size", err);
    if ((group = genl_ctrl_resolve_grp(sk, NETDEV_FAMILY_NAME, NETDEV_MCGRP_MGMT)) < 0)
        die("genl_ctrl_resolve_grp netdev mgmt", group);
    nl_socket_disable_seq_check(sk);
    if ((err = nl_socket_modify_cb(sk, NL_CB_VALID, NL_CB_CUSTOM, parse_netdev, &res)) < 0)
        die("nl_socket_modify_cb", err);
    if ((err = nl_socket_add_membership(sk, group)) < 0)
        die("nl_socket_add_membership", err);
    if ((err = nl_socket_set_nonblocking(sk)) < 0)
        die("nl_socket_set_nonblocking", err);
    for (i = 0; i < warmup; i++)
        notify_cycle(sk, &res, pairs);
    for (c = 0; c < CHUNKS; c++) {
        timed = 0;
        count = 0;
        for (i = 0; i < chunk; i++) {
            timed += notify_cycle(sk, &res, pairs);
            count += res.n;
        }
        if (count == 0) {
            fprintf(stderr, "c_libnl: no notification received\n");
            return 1;
        }
        seconds += timed;
        total += count;
        per_op[c] = timed / count * 1e6;
    }
    nl_socket_free(sk);
    printf("{\"workload\": \"netdev_notify\", \"iterations\": %ld, \"ops\": %ld, "
           "\"seconds\": %.9f, \"us_per_op\": %.4f, \"check\": {\"notifications\": %ld, "
           "\"dev-add-ntf\": %ld, \"dev-del-ntf\": %ld, \"dev-change-ntf\": %ld, \"attrs\": %ld}}\n",
           chunk * CHUNKS, total, seconds, median_us(per_op, CHUNKS), res.n, res.add, res.del,
           res.change, res.attrs);
    return 0;
}

/* W8: W2 from W8_THREADS threads at once. libnl's nl_sock is not thread
 * safe (its sequence numbers, callbacks and receive buffer are unlocked), so
 * on one shared socket a C user serialises each request with a mutex, and
 * points the callback at the calling thread's own result while holding it;
 * with a socket per thread nothing is shared. The threads wait on a barrier
 * between chunks, so only the requests are timed (sockets are opened first). */
#define W8_THREADS 4

struct w8 {
    pthread_barrier_t start, done;
    pthread_mutex_t lock;
    struct nl_sock *shared; /* NULL: a socket per thread */
    long per_thread;
    int stop;
};

struct w8_thread {
    struct w8 *w;
    pthread_t tid;
    struct nl_sock *sk;
    struct result res;
};

static void *w8_worker(void *arg)
{
    struct w8_thread *t = arg;
    struct w8 *w = t->w;
    long i;
    int err;

    for (;;) {
        pthread_barrier_wait(&w->start);
        if (w->stop)
            break;
        for (i = 0; i < w->per_thread; i++) {
            if (w->shared) {
                pthread_mutex_lock(&w->lock);
                if ((err = nl_socket_modify_cb(w->shared, NL_CB_VALID, NL_CB_CUSTOM, parse_family,
                                               &t->res)) < 0)
                    die("nl_socket_modify_cb", err);
                getfamily(w->shared, &t->res);
                pthread_mutex_unlock(&w->lock);
            } else {
                getfamily(t->sk, &t->res);
            }
        }
        pthread_barrier_wait(&w->done);
    }
    return NULL;
}

static void w8_round(struct w8 *w, long per_thread)
{
    w->per_thread = per_thread;
    pthread_barrier_wait(&w->start);
    pthread_barrier_wait(&w->done);
}

static int run_threads(const char *workload, int shared, long chunk, long warmup)
{
    static struct w8 w;
    struct w8_thread *t = calloc(W8_THREADS, sizeof(*t));
    double t0, t1, seconds = 0, per_op[CHUNKS];
    long per_thread = chunk / W8_THREADS > 0 ? chunk / W8_THREADS : 1;
    int i, c;

    if (!t) {
        fprintf(stderr, "c_libnl: out of memory\n");
        exit(1);
    }
    pthread_barrier_init(&w.start, NULL, W8_THREADS + 1);
    pthread_barrier_init(&w.done, NULL, W8_THREADS + 1);
    pthread_mutex_init(&w.lock, NULL);
    w.shared = shared ? connect_or_die() : NULL;
    for (i = 0; i < W8_THREADS; i++) {
        t[i].w = &w;
        t[i].sk = shared ? NULL : open_socket(&t[i].res);
        if (pthread_create(&t[i].tid, NULL, w8_worker, &t[i]) != 0) {
            fprintf(stderr, "c_libnl: pthread_create failed\n");
            exit(1);
        }
    }
    w8_round(&w, warmup / W8_THREADS > 0 ? warmup / W8_THREADS : 1);
    for (c = 0; c < CHUNKS; c++) {
        t0 = now();
        w8_round(&w, per_thread);
        t1 = now();
        seconds += t1 - t0;
        per_op[c] = (t1 - t0) / (per_thread * W8_THREADS) * 1e6;
    }
    w.stop = 1;
    pthread_barrier_wait(&w.start);
    for (i = 0; i < W8_THREADS; i++) {
        pthread_join(t[i].tid, NULL);
        if (t[i].sk)
            nl_socket_free(t[i].sk);
    }
    if (w.shared)
        nl_socket_free(w.shared);
    printf("{\"workload\": \"%s\", \"iterations\": %ld, \"threads\": %d, \"seconds\": %.9f, "
           "\"us_per_op\": %.4f, \"check\": ",
           workload, per_thread * W8_THREADS * CHUNKS, W8_THREADS, seconds,
           median_us(per_op, CHUNKS));
    print_check(&t[0].res);
    printf("}\n");
    free(t);
    return 0;
}

int main(int argc, char **argv)
{
    static struct result res;
    struct nl_sock *sk = NULL;
    const char *workload;
    long iterations, warmup, chunk, i;
    double t0, t1, seconds = 0, per_op[CHUNKS];
    int id = 0, c;

    if (argc == 2 && !strcmp(argv[1], "cold_start"))
        return cold_start();
    if (argc < 3) {
        fprintf(stderr,
                "usage: %s dump_families|getfamily|open_resolve_close|linkinfo_dump|threads_shared|"
                "threads_own ITERATIONS "
                "[WARMUP]\n       %s netdev_notify CYCLES [WARMUP [PAIRS]]\n       %s cold_start\n",
                argv[0], argv[0], argv[0]);
        return 2;
    }
    workload = argv[1];
    iterations = atol(argv[2]);
    warmup = argc > 3 ? atol(argv[3]) : iterations / 10 + 1;
    if (iterations <= 0)
        return 2;
    chunk = iterations / CHUNKS > 0 ? iterations / CHUNKS : 1;
    iterations = chunk * CHUNKS;

    if (!strcmp(workload, "linkinfo_dump"))
        return run_linkinfo_dump(chunk, warmup);
    if (!strcmp(workload, "threads_shared") || !strcmp(workload, "threads_own"))
        return run_threads(workload, !strcmp(workload, "threads_shared"), chunk, warmup);
    if (!strcmp(workload, "netdev_notify"))
        return run_netdev_notify(chunk, warmup, argc > 4 ? atol(argv[4]) : 100);
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
