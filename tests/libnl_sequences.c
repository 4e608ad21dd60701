/* libnl call sequences, written in C, for tests/test_c_parity.py.
 *
 * The test compiles this with gcc against the installed libnl and runs the
 * same sequences through libnl_py (Socket, Message, Callbacks), then compares
 * the traces line by line: every callback that fired (type, message type,
 * flags, sequence number relative to the first request), every return code,
 * and the bytes of each message built. Both sides print the same lines.
 *
 *   libnl_sequences SCENARIO PEER_PORT
 *
 * SCENARIO: ack, sync, dump, error, behind. PEER_PORT: 0 for the kernel, or
 * the port of a userspace peer that answers like nlctrl.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netlink/netlink.h>
#include <netlink/msg.h>
#include <netlink/attr.h>
#include <netlink/handlers.h>
#include <netlink/genl/genl.h>
#include <netlink/genl/ctrl.h>

static unsigned int first_seq; /* of the first request this program builds */
static int have_first_seq;

static void header(const char *what, struct nlmsghdr *h)
{
    if (!have_first_seq && h->nlmsg_seq) {
        first_seq = h->nlmsg_seq;
        have_first_seq = 1;
    }
    printf("%s type=%u flags=%#x seq=%d\n", what, h->nlmsg_type, h->nlmsg_flags,
           have_first_seq ? (int) (h->nlmsg_seq - first_seq) : -1);
}

/* One handler for every message callback type; arg names the type, and what
 * it returns is fixed per type (the same table as the Python side). */
static int on_message(struct nl_msg *msg, void *arg)
{
    const char *type = arg;
    char what[64];

    snprintf(what, sizeof(what), "cb %s", type);
    header(what, nlmsg_hdr(msg));
    if (!strcmp(type, "VALID")) {
        struct nlattr *tb[CTRL_ATTR_MAX + 1];
        int err = genlmsg_parse(nlmsg_hdr(msg), 0, tb, CTRL_ATTR_MAX, NULL);

        printf("parse %d", err);
        if (err == 0 && tb[CTRL_ATTR_FAMILY_NAME])
            printf(" name=%s", nla_get_string(tb[CTRL_ATTR_FAMILY_NAME]));
        if (err == 0 && tb[CTRL_ATTR_FAMILY_ID])
            printf(" id=%u", nla_get_u16(tb[CTRL_ATTR_FAMILY_ID]));
        printf("\n");
        return NL_OK;
    }
    if (!strcmp(type, "ACK"))
        return NL_STOP;
    if (!strcmp(type, "FINISH"))
        return NL_SKIP;
    return NL_OK;
}

static int on_error(struct sockaddr_nl *nla, struct nlmsgerr *err, void *arg)
{
    (void) arg;
    printf("err error=%d from=%s", err->error, nla->nl_pid ? "peer" : "kernel");
    header("", &err->msg);
    return NL_STOP;
}

static void ret(const char *call, int value)
{
    printf("ret %s %d\n", call, value);
}

static struct nl_msg *getfamily(int family, const char *name, int flags)
{
    struct nl_msg *msg = nlmsg_alloc();
    struct nlmsghdr *h;
    unsigned char *p;
    unsigned int i;

    if (!msg || !genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, family, 0, flags,
                             CTRL_CMD_GETFAMILY, 1)) {
        fprintf(stderr, "building the message failed\n");
        exit(2);
    }
    if (name && nla_put_string(msg, CTRL_ATTR_FAMILY_NAME, name) < 0) {
        fprintf(stderr, "nla_put_string failed\n");
        exit(2);
    }
    h = nlmsg_hdr(msg);
    p = (unsigned char *) h;
    printf("built ");
    for (i = 0; i < h->nlmsg_len; i++)
        printf("%02x", p[i]);
    printf("\n");
    return msg;
}

static void send_auto(struct nl_sock *sk, struct nl_msg *msg)
{
    int n = nl_send_auto(sk, msg);

    ret("send_auto", n);
    header("sent", nlmsg_hdr(msg));
}

int main(int argc, char **argv)
{
    static const char *types[] = {"MSG_IN", "MSG_OUT", "VALID", "FINISH", "ACK"};
    static const enum nl_cb_type numbers[] = {NL_CB_MSG_IN, NL_CB_MSG_OUT, NL_CB_VALID,
                                              NL_CB_FINISH, NL_CB_ACK};
    struct nl_sock *sk;
    struct nl_msg *msg;
    const char *scenario;
    unsigned int i;
    int family;

    if (argc != 3) {
        fprintf(stderr, "usage: %s SCENARIO PEER_PORT\n", argv[0]);
        return 2;
    }
    scenario = argv[1];
    setvbuf(stdout, NULL, _IOLBF, 0);

    sk = nl_socket_alloc();
    ret("genl_connect", genl_connect(sk));
    nl_socket_set_peer_port(sk, (uint32_t) strtoul(argv[2], NULL, 10));
    for (i = 0; i < sizeof(types) / sizeof(types[0]); i++)
        nl_socket_modify_cb(sk, numbers[i], NL_CB_CUSTOM, on_message, (void *) types[i]);
    nl_socket_modify_err_cb(sk, NL_CB_CUSTOM, on_error, NULL);

    family = genl_ctrl_resolve(sk, "nlctrl");
    ret("genl_ctrl_resolve", family);
    if (family < 0)
        return 1;

    if (!strcmp(scenario, "ack")) {
        /* A request that gets a reply and an ACK: the reply, then the ACK. */
        msg = getfamily(family, "nlctrl", 0);
        send_auto(sk, msg);
        ret("recvmsgs_default", nl_recvmsgs_default(sk));
        ret("wait_for_ack", nl_wait_for_ack(sk));
        nlmsg_free(msg);
    } else if (!strcmp(scenario, "sync")) {
        /* nl_send_sync frees the message and returns after the reply. */
        msg = getfamily(family, "nlctrl", 0);
        ret("send_sync", nl_send_sync(sk, msg));
        ret("wait_for_ack", nl_wait_for_ack(sk));
    } else if (!strcmp(scenario, "dump")) {
        msg = getfamily(family, NULL, NLM_F_DUMP);
        send_auto(sk, msg);
        ret("recvmsgs_default", nl_recvmsgs_default(sk));
        nlmsg_free(msg);
    } else if (!strcmp(scenario, "error")) {
        msg = getfamily(family, "nosuch-family", 0);
        send_auto(sk, msg);
        ret("recvmsgs_default", nl_recvmsgs_default(sk));
        nlmsg_free(msg);
        /* Without an error callback libnl returns the error itself. */
        nl_socket_modify_err_cb(sk, NL_CB_CUSTOM, NULL, NULL);
        msg = getfamily(family, "nosuch-family", 0);
        send_auto(sk, msg);
        ret("recvmsgs_default", nl_recvmsgs_default(sk));
        nlmsg_free(msg);
    } else if (!strcmp(scenario, "behind")) {
        /* The trap on purpose: no wait for the first ACK, so the second
         * receive gets it instead of the second reply. */
        struct nl_msg *second;

        msg = getfamily(family, "nlctrl", 0);
        send_auto(sk, msg);
        ret("recvmsgs_default", nl_recvmsgs_default(sk));
        second = getfamily(family, "nlctrl", 0);
        send_auto(sk, second);
        ret("recvmsgs_default", nl_recvmsgs_default(sk));
        ret("recvmsgs_default", nl_recvmsgs_default(sk));
        ret("wait_for_ack", nl_wait_for_ack(sk));
        nlmsg_free(msg);
        nlmsg_free(second);
    } else {
        fprintf(stderr, "unknown scenario %s\n", scenario);
        return 2;
    }
    nl_socket_free(sk);
    return 0;
}
