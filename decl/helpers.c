
/* ---- libnl-py helpers (declared in decl/helpers.h) ---- */
#include <errno.h>
#include <string.h>
#include <fcntl.h>

#define LNP_GENL_REQ_HDR (NLMSG_HDRLEN + GENL_HDRLEN)

/* Send one generic netlink request: nlmsghdr (type `family`, `flags`, the
 * socket's next sequence number, its local port), genlmsghdr (`cmd`,
 * `version`), then `len` bytes of `payload`, to the socket's peer as
 * nl_sendto does but with MSG_DONTWAIT (a full peer: -NLE_AGAIN). Stores the
 * sequence number used in *seq (never 0). Returns bytes sent or -NLE. */
static int lnp_send_genl(struct nl_sock *sk, uint16_t family, uint16_t flags, uint8_t cmd,
                         uint8_t version, const char *payload, size_t len, uint32_t *seq,
                         int *sys_errno)
{
    unsigned char stack[1024];
    unsigned char *buf = stack;
    size_t total = LNP_GENL_REQ_HDR + len;
    struct nlmsghdr *nlh;
    struct genlmsghdr *gh;
    struct sockaddr_nl peer;
    int ret, fd;

    if (total > UINT32_MAX)
        return -NLE_MSGSIZE;
    if (total > sizeof(stack)) {
        buf = malloc(total);
        if (!buf)
            return -NLE_NOMEM;
    }
    nlh = (struct nlmsghdr *) buf;
    nlh->nlmsg_len = (uint32_t) total;
    nlh->nlmsg_type = family;
    nlh->nlmsg_flags = flags;
    /* Sequence 0 is what notifications carry: never use it for a request. */
    nlh->nlmsg_seq = nl_socket_use_seq(sk);
    if (nlh->nlmsg_seq == 0)
        nlh->nlmsg_seq = nl_socket_use_seq(sk);
    nlh->nlmsg_pid = nl_socket_get_local_port(sk);
    gh = (struct genlmsghdr *) (buf + NLMSG_HDRLEN);
    gh->cmd = cmd;
    gh->version = version;
    gh->reserved = 0;
    if (len)
        memcpy(buf + LNP_GENL_REQ_HDR, payload, len);
    *seq = nlh->nlmsg_seq;
    /* nl_sendto, but never blocking (MSG_DONTWAIT): the fd itself stays in
     * blocking mode, as nl_connect leaves it, and a full peer gives EAGAIN. */
    if ((fd = nl_socket_get_fd(sk)) < 0) {
        ret = -NLE_BAD_SOCK;
    } else {
        memset(&peer, 0, sizeof(peer));
        peer.nl_family = AF_NETLINK;
        peer.nl_pid = nl_socket_get_peer_port(sk);
        peer.nl_groups = nl_socket_get_peer_groups(sk);
        ret = (int) sendto(fd, buf, total, MSG_DONTWAIT, (struct sockaddr *) &peer, sizeof(peer));
        if (ret < 0) {
            /* The class is libnl's; the errno itself is kept, which libnl folds
             * (EMSGSIZE becomes NLE_FAILURE). */
            *sys_errno = errno;
            ret = -nl_syserr2nlerr(*sys_errno);
        }
    }
    if (buf != stack)
        free(buf);
    return ret;
}

#define LNP_REPLY 0
#define LNP_TERMINAL 1
#define LNP_NOTIFY 2
#define LNP_OTHER 3
#define LNP_MALFORMED 4
#define LNP_UNSPLIT 5
#define LNP_DESC_WORDS 8

#define LNP_AGAIN 0
#define LNP_DONE 1
#define LNP_FULL 2
#define LNP_OVERRUN 3
#define LNP_CLEAN 4

struct lnp_batch {
    uint8_t *buf;
    int cap;
    int room;
    uint32_t *desc;
    int max_desc;
    uint32_t peer;
    uint32_t seq;
    int dump;
    int used;
    int n_desc;
    int datagrams;
    struct nl_sock *sk;
    int sys_errno;
};

static int64_t lnp_genl_open(struct nl_sock *sk, struct lnp_batch *b, int rcvbuf, int ext_ack)
{
    int err, fd, one = 1;

    err = genl_connect(sk);
    if (err < 0)
        return err;
    fd = nl_socket_get_fd(sk);
    /* No O_NONBLOCK (a system call): every send and receive of ours passes
     * MSG_DONTWAIT, and waits poll() with a timeout. */
    nl_socket_disable_msg_peek(sk);
    /* Only SO_RCVBUF: nl_socket_set_buffer_size would set SO_SNDBUF to
     * the 32 KiB nl_connect just set, a wasted system call. */
    if (rcvbuf > 0 && setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf)) < 0) {
        err = -nl_syserr2nlerr(errno);
        goto fail;
    }
    if (ext_ack) {
        if (setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one)) < 0 ||
            setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof(one)) < 0) {
            err = -nl_syserr2nlerr(errno);
            goto fail;
        }
    }
    b->sk = sk;
    b->peer = nl_socket_get_peer_port(sk);
    b->seq = 0;
    return (int64_t) nl_socket_get_local_port(sk);
fail:
    nl_close(sk);
    return err;
}

static void lnp_desc(struct lnp_batch *b, uint32_t kind, uint32_t type, uint32_t flags,
                     uint32_t seq, uint32_t port, uint32_t start, uint32_t end)
{
    uint32_t *d = b->desc + (size_t) b->n_desc * LNP_DESC_WORDS;
    int32_t error = 0;

    /* The error an NLMSG_ERROR or NLMSG_DONE carries, when it is there. */
    if ((type == NLMSG_ERROR || type == NLMSG_DONE) && end - start >= NLMSG_HDRLEN + 4)
        memcpy(&error, b->buf + start + NLMSG_HDRLEN, 4);
    d[0] = kind; d[1] = type; d[2] = flags; d[3] = seq;
    d[4] = port; d[5] = start; d[6] = end; d[7] = (uint32_t) error;
    b->n_desc++;
}

/* Read every datagram queued on the socket (MSG_DONTWAIT) into b->buf, one
 * after another, and describe each message in b->desc, without a Python call
 * per datagram or message. Stops at the terminal message of b->seq, when
 * nothing is queued, or when full. Returns an LNP_* result, or -NLE for a
 * receive error (a datagram longer than b->room: -NLE_MSG_TRUNC). */
static int lnp_recv_batch(struct nl_sock *sk, struct lnp_batch *b)
{
    int fd = nl_socket_get_fd(sk);
    int done = 0, clean = 1;

    b->used = 0;
    b->n_desc = 0;
    b->datagrams = 0;
    b->sys_errno = 0;
    if (fd < 0)
        return -NLE_BAD_SOCK;
    while (!done) {
        struct sockaddr_nl addr;
        struct iovec iov;
        struct msghdr msg;
        ssize_t n;
        int off, space = b->cap - b->used;

        /* Room for a whole datagram, and for at least two descriptors (the
         * last one may have to take the unsplit rest of a datagram). */
        if (space < b->room || b->max_desc - b->n_desc < 2)
            return LNP_FULL;
        memset(&msg, 0, sizeof(msg));
        memset(&addr, 0, sizeof(addr));
        iov.iov_base = b->buf + b->used;
        iov.iov_len = (size_t) space;
        msg.msg_name = &addr;
        msg.msg_namelen = sizeof(addr);
        msg.msg_iov = &iov;
        msg.msg_iovlen = 1;
        do {
            n = recvmsg(fd, &msg, MSG_DONTWAIT | MSG_TRUNC);
        } while (n < 0 && errno == EINTR);
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return LNP_AGAIN;
            if (errno == ENOBUFS)
                return LNP_OVERRUN;
            b->sys_errno = errno;
            return -nl_syserr2nlerr(errno);
        }
        if (n == 0)
            return LNP_AGAIN;
        if ((msg.msg_flags & MSG_TRUNC) || n > space)
            return -NLE_MSG_TRUNC;
        b->datagrams++;
        off = b->used;
        b->used += (int) n;
        while (b->used - off >= NLMSG_HDRLEN) {
            struct nlmsghdr *h = (struct nlmsghdr *) (b->buf + off);
            uint32_t kind, len = h->nlmsg_len;

            if (b->max_desc - b->n_desc == 1) {
                /* type: whether the datagram was multicast */
                lnp_desc(b, LNP_UNSPLIT, addr.nl_groups ? 1 : 0, 0, 0, addr.nl_pid, (uint32_t) off,
                         (uint32_t) b->used);
                clean = 0;
                break;
            }
            if (len < NLMSG_HDRLEN || len > (uint32_t) (b->used - off)) {
                lnp_desc(b, LNP_MALFORMED, 0, 0, 0, addr.nl_pid, (uint32_t) off,
                         (uint32_t) b->used);
                clean = 0;
                break;
            }
            if (addr.nl_groups)
                kind = LNP_NOTIFY;
            else if (!b->seq || h->nlmsg_seq != b->seq || addr.nl_pid != b->peer)
                kind = LNP_OTHER;
            else if (h->nlmsg_type == NLMSG_ERROR &&
                     len < NLMSG_HDRLEN + sizeof(struct nlmsgerr))
                /* Too short for struct nlmsgerr: no verdict here. Routed in
                 * Python, where parse_error refuses it (one rule, one place). */
                kind = LNP_OTHER;
            else if (h->nlmsg_type == NLMSG_ERROR ||
                     (b->dump && h->nlmsg_type == NLMSG_DONE))
                kind = LNP_TERMINAL;
            else if (h->nlmsg_type < NLMSG_MIN_TYPE)
                kind = LNP_OTHER;
            else
                kind = LNP_REPLY;
            lnp_desc(b, kind, h->nlmsg_type, h->nlmsg_flags, h->nlmsg_seq, addr.nl_pid,
                     (uint32_t) off, (uint32_t) (off + len));
            /* Clean: only replies, then a terminal without error, ext ACK or
             * DUMP_INTR, and nothing after it. */
            if (done || (h->nlmsg_flags & NLM_F_DUMP_INTR) ||
                (kind != LNP_REPLY &&
                 (kind != LNP_TERMINAL || b->desc[(b->n_desc - 1) * LNP_DESC_WORDS + 7] ||
                  (h->nlmsg_flags & NLM_F_ACK_TLVS))))
                clean = 0;
            off += NLMSG_ALIGN(len);
            if (kind == LNP_TERMINAL) {
                done = 1;
                /* The rest of this datagram still needs routing. */
            }
        }
        /* Keep the next datagram aligned in the arena. */
        b->used = NLMSG_ALIGN(b->used);
        if (b->used > b->cap)
            b->used = b->cap;
    }
    return clean ? LNP_CLEAN : LNP_DONE;
}

/* lnp_send_genl, then lnp_recv_batch for the request just sent, in one call:
 * the kernel answers during sendmsg, so its reply is usually read here at
 * once. b->seq and b->dump are set from the request (b->peer is the
 * caller's). Returns lnp_recv_batch's result; on a send failure, the -NLE
 * code with b->seq = 0 and nothing read. */
static int lnp_transact(struct nl_sock *sk, struct lnp_batch *b, uint16_t family, uint16_t flags,
                        uint8_t cmd, uint8_t version, const char *payload, size_t len)
{
    uint32_t seq = 0;
    int ret;

    b->sys_errno = 0;
    ret = lnp_send_genl(sk, family, flags, cmd, version, payload, len, &seq, &b->sys_errno);

    if (ret < 0) {
        b->seq = 0;
        b->used = b->n_desc = b->datagrams = 0;
        return ret;
    }
    b->seq = seq;
    b->dump = (flags & NLM_F_DUMP) == NLM_F_DUMP;
    return lnp_recv_batch(sk, b);
}

/* The two calls Python makes for a batch's socket (b->sk, set by lnp_genl_open; NULL
 * once the socket is freed): lnp_transact, and lnp_recv_batch waiting for request `seq`
 * from `peer`. LNP_NO_SOCKET when the batch has no socket. */
#define LNP_NO_SOCKET (-0x10000)

static int lnp_batch_transact(struct lnp_batch *b, uint16_t family, uint16_t flags, uint8_t cmd,
                              uint8_t version, const char *payload, size_t len)
{
    if (b->sk == NULL)
        return LNP_NO_SOCKET;
    return lnp_transact(b->sk, b, family, flags, cmd, version, payload, len);
}

static int lnp_batch_recv(struct lnp_batch *b, uint32_t peer, uint32_t seq, int dump)
{
    if (b->sk == NULL)
        return LNP_NO_SOCKET;
    b->peer = peer;
    b->seq = seq;
    b->dump = dump;
    return lnp_recv_batch(b->sk, b);
}
