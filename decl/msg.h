/* <netlink/msg.h>: nl_msg buffers and nlmsghdr helpers. */

#define NL_AUTO_PORT ...
#define NL_AUTO_SEQ ...

int nlmsg_size(int);
int nlmsg_total_size(int);
int nlmsg_padlen(int);

void *nlmsg_data(const struct nlmsghdr *);
int nlmsg_datalen(const struct nlmsghdr *);
void *nlmsg_tail(const struct nlmsghdr *);
struct nlattr *nlmsg_attrdata(const struct nlmsghdr *, int);
int nlmsg_attrlen(const struct nlmsghdr *, int);
int nlmsg_valid_hdr(const struct nlmsghdr *, int);
int nlmsg_ok(const struct nlmsghdr *, int);
struct nlmsghdr *nlmsg_next(struct nlmsghdr *, int *);
struct nlattr *nlmsg_find_attr(struct nlmsghdr *, int, int);
int nlmsg_parse(struct nlmsghdr *, int, struct nlattr **, int, const struct nla_policy *);

struct nl_msg *nlmsg_alloc(void);
struct nl_msg *nlmsg_alloc_size(size_t);
struct nl_msg *nlmsg_alloc_simple(int, int);
struct nl_msg *nlmsg_inherit(struct nlmsghdr *);
struct nl_msg *nlmsg_convert(struct nlmsghdr *);
void *nlmsg_reserve(struct nl_msg *, size_t, int);
int nlmsg_append(struct nl_msg *, void *, size_t, int);
int nlmsg_expand(struct nl_msg *, size_t);
struct nlmsghdr *nlmsg_put(struct nl_msg *, uint32_t, uint32_t, int, int, int);
struct nlmsghdr *nlmsg_hdr(struct nl_msg *);
void nlmsg_get(struct nl_msg *);
void nlmsg_free(struct nl_msg *);

void nlmsg_set_proto(struct nl_msg *, int);
int nlmsg_get_proto(struct nl_msg *);
size_t nlmsg_get_max_size(struct nl_msg *);
void nlmsg_set_src(struct nl_msg *, struct sockaddr_nl *);
struct sockaddr_nl *nlmsg_get_src(struct nl_msg *);
void nlmsg_set_dst(struct nl_msg *, struct sockaddr_nl *);
struct sockaddr_nl *nlmsg_get_dst(struct nl_msg *);
struct ucred *nlmsg_get_creds(struct nl_msg *);
