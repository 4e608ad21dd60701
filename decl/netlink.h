/* <netlink/netlink.h>: connecting, sending and receiving. */

int nl_connect(struct nl_sock *, int);
void nl_close(struct nl_sock *);

int nl_sendto(struct nl_sock *, void *, size_t);
int nl_send(struct nl_sock *, struct nl_msg *);
int nl_send_iovec(struct nl_sock *, struct nl_msg *, struct iovec *, unsigned);
void nl_complete_msg(struct nl_sock *, struct nl_msg *);
int nl_send_auto(struct nl_sock *, struct nl_msg *);
int nl_send_auto_complete(struct nl_sock *, struct nl_msg *);
int nl_send_sync(struct nl_sock *, struct nl_msg *);
int nl_send_simple(struct nl_sock *, int, int, void *, size_t);

int nl_recv(struct nl_sock *, struct sockaddr_nl *, unsigned char **, struct ucred **);
int nl_recvmsgs(struct nl_sock *, struct nl_cb *);
int nl_recvmsgs_report(struct nl_sock *, struct nl_cb *);
int nl_recvmsgs_default(struct nl_sock *);
int nl_wait_for_ack(struct nl_sock *);

/* nl_recv() hands back malloc()ed buffers that the caller frees. */
void free(void *);
