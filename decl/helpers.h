/* C helpers written for libnl-py (source in decl/helpers.c). They exist where
 * libnl has no call for what the Python layer needs, or where a loop must run
 * without a Python call per message or per attribute. */

/* setsockopt/getsockopt of an int option on a libnl socket's fd.
 * Return 0 (and, for get, the value in *value) or -errno. libnl has no call
 * for NETLINK_EXT_ACK, NETLINK_CAP_ACK and friends. */
int lnp_setsockopt_int(int fd, int level, int name, int value);
int lnp_getsockopt_int(int fd, int level, int name, int *value);


/* Send one generic netlink request: nlmsghdr (type `family`, `flags`, the
 * socket's next sequence number, its local port), genlmsghdr (`cmd`,
 * `version`), then `len` bytes of `payload`, to the socket's peer as
 * nl_sendto does but with MSG_DONTWAIT (a full peer: -NLE_AGAIN). Stores the
 * sequence number used in *seq (never 0). Returns bytes sent or -NLE. */
int lnp_send_genl(struct nl_sock *sk, uint16_t family, uint16_t flags, uint8_t cmd,
                  uint8_t version, const char *payload, size_t len, uint32_t *seq);

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
    ...;
};

/* Connect a socket to NETLINK_GENERIC the way GenlSocket wants it, in one
 * call: genl_connect, no MSG_PEEK, receive buffer `rcvbuf`
 * (0 keeps libnl's), NETLINK_EXT_ACK and NETLINK_CAP_ACK when `ext_ack`; the
 * batch b then reads for it (b->sk, b->peer its peer port, b->seq 0).
 * Returns the local port, or a negative NLE code (the fd is then closed
 * again). */
int64_t lnp_genl_open(struct nl_sock *sk, struct lnp_batch *b, int rcvbuf, int ext_ack);

/* Read every datagram queued on the socket (MSG_DONTWAIT) into b->buf, one
 * after another, and describe each message in b->desc, without a Python call
 * per datagram or message. Stops at the terminal message of b->seq, when
 * nothing is queued, or when full. Returns an LNP_* result, or -NLE for a
 * receive error (a datagram longer than b->room: -NLE_MSG_TRUNC). */
int lnp_recv_batch(struct nl_sock *sk, struct lnp_batch *b);

/* lnp_send_genl, then lnp_recv_batch for the request just sent, in one call:
 * the kernel answers during sendmsg, so its reply is usually read here at
 * once. b->seq and b->dump are set from the request (b->peer is the
 * caller's). Returns lnp_recv_batch's result; on a send failure, the -NLE
 * code with b->seq = 0 and nothing read. */
int lnp_transact(struct nl_sock *sk, struct lnp_batch *b, uint16_t family, uint16_t flags,
                 uint8_t cmd, uint8_t version, const char *payload, size_t len);

/* Put the native decoders (CPython builtins compiled into this module, see
 * decl/native.c) into the dict at address `namespace` (its id()). 0, or -1
 * when it is not a dict or this is not CPython. Called once, by libnl_py._ffi. */
int lnp_native_install(void *namespace);
