/* <netlink/handlers.h>: callback sets used by nl_recvmsgs(). */

typedef int (*nl_recvmsg_msg_cb_t)(struct nl_msg *, void *);
typedef int (*nl_recvmsg_err_cb_t)(struct sockaddr_nl *, struct nlmsgerr *, void *);

enum nl_cb_action { NL_OK, NL_SKIP, NL_STOP, ... };
enum nl_cb_kind { NL_CB_DEFAULT, NL_CB_VERBOSE, NL_CB_DEBUG, NL_CB_CUSTOM, ... };
enum nl_cb_type {
    NL_CB_VALID, NL_CB_FINISH, NL_CB_OVERRUN, NL_CB_SKIPPED, NL_CB_ACK,
    NL_CB_MSG_IN, NL_CB_MSG_OUT, NL_CB_INVALID, NL_CB_SEQ_CHECK,
    NL_CB_SEND_ACK, NL_CB_DUMP_INTR, ...
};
#define NL_CB_KIND_MAX ...
#define NL_CB_TYPE_MAX ...

struct nl_cb *nl_cb_alloc(enum nl_cb_kind);
struct nl_cb *nl_cb_clone(struct nl_cb *);
struct nl_cb *nl_cb_get(struct nl_cb *);
void nl_cb_put(struct nl_cb *);
int nl_cb_set(struct nl_cb *, enum nl_cb_type, enum nl_cb_kind, nl_recvmsg_msg_cb_t, void *);
int nl_cb_set_all(struct nl_cb *, enum nl_cb_kind, nl_recvmsg_msg_cb_t, void *);
int nl_cb_err(struct nl_cb *, enum nl_cb_kind, nl_recvmsg_err_cb_t, void *);
enum nl_cb_type nl_cb_active_type(struct nl_cb *);

int nl_socket_modify_cb(struct nl_sock *, enum nl_cb_type, enum nl_cb_kind, nl_recvmsg_msg_cb_t, void *);
int nl_socket_modify_err_cb(struct nl_sock *, enum nl_cb_kind, nl_recvmsg_err_cb_t, void *);
