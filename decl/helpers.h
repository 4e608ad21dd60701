/* C helpers written for libnl-py (source in decl/helpers.c), as far as
 * Python sees them: the constants and the batch struct the wrappers read,
 * lnp_genl_open, and the send and receive loops for a batch's socket
 * (documented in helpers.c). Plain C: no Python object crosses here. */

/* What lnp_recv_batch found about each message: kind, then the header. */
#define LNP_REPLY ...      /* a data message answering `seq` */
#define LNP_TERMINAL ...   /* NLMSG_ERROR (or a dump's NLMSG_DONE) ending `seq` */
#define LNP_NOTIFY ...     /* a multicast message */
#define LNP_OTHER ...      /* anything else: routed by the Python layer */
#define LNP_MALFORMED ...  /* a datagram whose lengths do not add up (start = its offset) */
#define LNP_UNSPLIT ...    /* the rest of a datagram, left whole: the table was full */
#define LNP_DESC_WORDS ... /* uint32 words per descriptor */

/* lnp_recv_batch's results */
#define LNP_AGAIN ...      /* nothing more queued */
#define LNP_DONE ...       /* the terminal message of `seq` was read */
#define LNP_FULL ...       /* the arena or the descriptor table is full: call again */
#define LNP_OVERRUN ...    /* ENOBUFS: the kernel dropped messages for this socket */
#define LNP_CLEAN ...      /* LNP_DONE, and the batch held only replies to `seq`, then
                              its terminal without error, ext ACK or DUMP_INTR */

struct lnp_batch {
    uint8_t *buf;        /* arena the datagrams are read into */
    int cap;             /* its size */
    int room;            /* read only while at least this much of it is free */
    uint32_t *desc;      /* descriptors, LNP_DESC_WORDS each: kind, type, flags,
                            seq, port, start, end, and for NLMSG_ERROR/DONE the
                            (int32) error they carry, else 0 */
    int max_desc;
    uint32_t peer;       /* in: the port replies come from (0: the kernel) */
    uint32_t seq;        /* in: the request waited for; 0: none */
    int dump;            /* in: that request is a dump (NLMSG_DONE ends it) */
    int used;            /* out: bytes of the arena filled */
    int n_desc;          /* out: descriptors filled */
    int datagrams;       /* out: datagrams read */
    struct nl_sock *sk;  /* the socket it reads for (lnp_genl_open sets it) */
    int sys_errno;       /* out: errno of the send or receive that failed, else 0 */
    ...;
};

/* Connect a socket to NETLINK_GENERIC the way GenlSocket wants it, in one
 * call: genl_connect, no MSG_PEEK, receive buffer `rcvbuf`
 * (0 keeps libnl's), NETLINK_EXT_ACK and NETLINK_CAP_ACK when `ext_ack`; the
 * batch b then reads for it (b->sk, b->peer its peer port, b->seq 0).
 * Returns the local port, or a negative NLE code (the fd is then closed
 * again). */
int64_t lnp_genl_open(struct nl_sock *sk, struct lnp_batch *b, int rcvbuf, int ext_ack);

/* lnp_transact for the batch's socket: send one generic netlink request
 * (nlmsghdr: type `family`, `flags`, the socket's next sequence number, left
 * in b->seq; genlmsghdr: `cmd`, `version`; then `len` bytes of `payload`),
 * then read what is queued for it into the batch, all without the GIL (cffi
 * releases it). Returns lnp_recv_batch's result; on a send failure the -NLE
 * code, with b->seq = 0 and nothing read. */
int lnp_batch_transact(struct lnp_batch *b, uint16_t family, uint16_t flags, uint8_t cmd,
                       uint8_t version, const char *payload, size_t len);

/* lnp_recv_batch for the batch's socket: read what is queued, waiting for
 * the terminal of request `seq` (0: none) from port `peer`, a dump if `dump`.
 * Returns an LNP_* result or -NLE. */
int lnp_batch_recv(struct lnp_batch *b, uint32_t peer, uint32_t seq, int dump);

#define LNP_NO_SOCKET ...  /* either call, for a batch that has no socket (never opened, or
                              its socket freed) */

/* The two functions libnl calls for every Python callback: one for each
 * callback signature (nl_recvmsg_msg_cb_t, nl_recvmsg_err_cb_t). Their `arg`
 * is an ffi.new_handle() of the Python side's slot; see
 * libnl_py.bindings.handlers, which attaches them with ffi.def_extern. */
extern "Python" int lnp_msg_cb(struct nl_msg *, void *);
extern "Python" int lnp_err_cb(struct sockaddr_nl *, struct nlmsgerr *, void *);
