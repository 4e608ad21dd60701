/* <netlink/socket.h>: the nl_sock lifecycle and its settings. */

struct nl_sock *nl_socket_alloc(void);
struct nl_sock *nl_socket_alloc_cb(struct nl_cb *);
void nl_socket_free(struct nl_sock *);

uint32_t nl_socket_get_local_port(const struct nl_sock *);
void nl_socket_set_local_port(struct nl_sock *, uint32_t);
uint32_t nl_socket_get_peer_port(const struct nl_sock *);
void nl_socket_set_peer_port(struct nl_sock *, uint32_t);
uint32_t nl_socket_get_peer_groups(const struct nl_sock *);
void nl_socket_set_peer_groups(struct nl_sock *, uint32_t);

int nl_socket_add_membership(struct nl_sock *, int);
int nl_socket_drop_membership(struct nl_sock *, int);
void nl_join_groups(struct nl_sock *, int);

struct nl_cb *nl_socket_get_cb(const struct nl_sock *);
void nl_socket_set_cb(struct nl_sock *, struct nl_cb *);

int nl_socket_set_buffer_size(struct nl_sock *, int, int);
int nl_socket_set_msg_buf_size(struct nl_sock *, size_t);
size_t nl_socket_get_msg_buf_size(struct nl_sock *);
int nl_socket_set_passcred(struct nl_sock *, int);
int nl_socket_recv_pktinfo(struct nl_sock *, int);

void nl_socket_disable_seq_check(struct nl_sock *);
unsigned int nl_socket_use_seq(struct nl_sock *);
void nl_socket_disable_auto_ack(struct nl_sock *);
void nl_socket_enable_auto_ack(struct nl_sock *);

int nl_socket_get_fd(const struct nl_sock *);
int nl_socket_set_fd(struct nl_sock *, int, int);
int nl_socket_set_nonblocking(const struct nl_sock *);
void nl_socket_enable_msg_peek(struct nl_sock *);
void nl_socket_disable_msg_peek(struct nl_sock *);
