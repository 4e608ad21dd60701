/* <netlink/attr.h>: attribute access and construction. */

#define NLA_UNSPEC ...
#define NLA_U8 ...
#define NLA_U16 ...
#define NLA_U32 ...
#define NLA_U64 ...
#define NLA_STRING ...
#define NLA_FLAG ...
#define NLA_MSECS ...
#define NLA_NESTED ...
#define NLA_NUL_STRING ...
#define NLA_BINARY ...
#define NLA_S8 ...
#define NLA_S16 ...
#define NLA_S32 ...
#define NLA_S64 ...
#define NLA_TYPE_MAX ...

struct nla_policy {
    uint16_t type;
    uint16_t minlen;
    uint16_t maxlen;
    ...;
};

int nla_attr_size(int);
int nla_total_size(int);
int nla_padlen(int);

int nla_type(const struct nlattr *);
void *nla_data(const struct nlattr *);
int nla_len(const struct nlattr *);
int nla_ok(const struct nlattr *, int);
struct nlattr *nla_next(const struct nlattr *, int *);
int nla_parse(struct nlattr **, int, struct nlattr *, int, const struct nla_policy *);
int nla_validate(const struct nlattr *, int, int, const struct nla_policy *);
struct nlattr *nla_find(const struct nlattr *, int, int);

int nla_memcpy(void *, const struct nlattr *, int);
size_t nla_strlcpy(char *, const struct nlattr *, size_t);
int nla_memcmp(const struct nlattr *, const void *, size_t);
int nla_strcmp(const struct nlattr *, const char *);

struct nlattr *nla_reserve(struct nl_msg *, int, int);
int nla_put(struct nl_msg *, int, int, const void *);

int8_t nla_get_s8(const struct nlattr *);
int nla_put_s8(struct nl_msg *, int, int8_t);
uint8_t nla_get_u8(const struct nlattr *);
int nla_put_u8(struct nl_msg *, int, uint8_t);
int16_t nla_get_s16(const struct nlattr *);
int nla_put_s16(struct nl_msg *, int, int16_t);
uint16_t nla_get_u16(const struct nlattr *);
int nla_put_u16(struct nl_msg *, int, uint16_t);
int32_t nla_get_s32(const struct nlattr *);
int nla_put_s32(struct nl_msg *, int, int32_t);
uint32_t nla_get_u32(const struct nlattr *);
int nla_put_u32(struct nl_msg *, int, uint32_t);
int64_t nla_get_s64(const struct nlattr *);
int nla_put_s64(struct nl_msg *, int, int64_t);
uint64_t nla_get_u64(const struct nlattr *);
int nla_put_u64(struct nl_msg *, int, uint64_t);

char *nla_get_string(const struct nlattr *);
char *nla_strdup(const struct nlattr *);
int nla_put_string(struct nl_msg *, int, const char *);
int nla_get_flag(const struct nlattr *);
int nla_put_flag(struct nl_msg *, int);
unsigned long nla_get_msecs(const struct nlattr *);
int nla_put_msecs(struct nl_msg *, int, unsigned long);

int nla_put_nested(struct nl_msg *, int, const struct nl_msg *);
struct nlattr *nla_nest_start(struct nl_msg *, int);
int nla_nest_end(struct nl_msg *, struct nlattr *);
int nla_nest_end_keep_empty(struct nl_msg *, struct nlattr *);
void nla_nest_cancel(struct nl_msg *, const struct nlattr *);
int nla_parse_nested(struct nlattr **, int, struct nlattr *, const struct nla_policy *);
int nla_is_nested(const struct nlattr *);

/* libnl 3.11+: variable-width integers. HAS_NLA_UINT says whether the
 * installed libnl has them; without it they are removed at import. */
static const int HAS_NLA_UINT;
uint64_t nla_get_uint(const struct nlattr *);
int nla_put_uint(struct nl_msg *, int, uint64_t);
int64_t nla_get_sint(const struct nlattr *);
int nla_put_sint(struct nl_msg *, int, int64_t);
