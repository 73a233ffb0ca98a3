/*
 * A libdmclient management object plugin that serves the MMS instances of the DM tree
 * (./MMS/<instance>/<parameter>) with the rules of a mostate spec deciding every change: each
 * Add, Replace, Delete and flag change calls the spec's generated C (mostate compile --emit c,
 * prefix ccs), whose status the command is answered with, and applies the records it gives.
 *
 * The flags are bound as leaves (./MMS/<i>/Ext/CCS/Active, no change to libdmclient) or as node
 * properties (./MMS/<i>?prop=Active, through the property callbacks of mostate's patch 02):
 * $MOSTATE_CCS_BINDING is "leaves" or "properties" (the default). The device's tree is kept in
 * the file $MOSTATE_CCS_STATE (read at start, written after each change), one line per instance
 * and per parameter, names and values percent-encoded:
 *
 *     i <name> <active> <default> <locked>
 *     p <name> <value>
 *
 * The user's side, a person on the device changing a flag or a parameter, is
 * ccs_plugin_user(): it runs the user's function of the same generated C on that file.
 *
 * Built by the tests against the generated C of the spec under test:
 *     cc -shared -fPIC -I<libdmclient>/include/omadmclient -I<gen> ccs_plugin.c <gen>/ccs.c
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "omadmtree_mo.h"
#include "syncml_error.h"
#include "ccs.h"

#define BASE "./MMS"
#define SERVICE "MMS"
#define ACL "Add=*&Get=*&Replace=*&Delete=*"

/* -- parameter maps: immutable, interned (one map, one handle), owned by the device -------- */

struct ccs_params_ {
    size_t n;
    char **keys; /* sorted */
    char **values;
    struct ccs_params_ *next;
};

typedef struct device {
    ccs_slot slots[CCS_MAX_INSTANCES];
    size_t n;
    struct ccs_params_ *maps;
    ccs_host host;
    int leaves;
    const char *state_file;
} device_t;

static char *dup(const char *s)
{
    size_t len = strlen(s) + 1;
    char *out = malloc(len);
    if (out != NULL) memcpy(out, s, len);
    return out;
}

static int same_pairs(const struct ccs_params_ *m, size_t n, char **keys, char **values)
{
    size_t i;
    if (m->n != n) return 0;
    for (i = 0; i < n; i++) {
        if (strcmp(m->keys[i], keys[i]) != 0 || strcmp(m->values[i], values[i]) != 0) return 0;
    }
    return 1;
}

/* The map with these pairs (keys sorted): an existing one, or a copy made now. */
static ccs_params intern(device_t *dev, size_t n, char **keys, char **values)
{
    struct ccs_params_ *m;
    size_t i;
    for (m = dev->maps; m != NULL; m = m->next) {
        if (same_pairs(m, n, keys, values)) return m;
    }
    m = calloc(1, sizeof *m);
    if (m == NULL) return NULL;
    m->keys = calloc(n + 1, sizeof *m->keys);
    m->values = calloc(n + 1, sizeof *m->values);
    if (m->keys == NULL || m->values == NULL) { free(m->keys); free(m->values); free(m); return NULL; }
    for (i = 0; i < n; i++) {
        m->keys[i] = dup(keys[i]);
        m->values[i] = dup(values[i]);
        if (m->keys[i] == NULL || m->values[i] == NULL) return NULL; /* kept in no list: lost */
    }
    m->n = n;
    m->next = dev->maps;
    dev->maps = m;
    return m;
}

static int host_equal(void *ctx, ccs_params a, ccs_params b)
{
    (void)ctx;
    return a == b; /* interned */
}

static int host_with(void *ctx, ccs_params map, const char *key, const char *value, ccs_params *out)
{
    char *keys[CCS_MAX_INSTANCES * 4], *values[CCS_MAX_INSTANCES * 4];
    size_t i, j, n = map->n;
    if (n + 1 > sizeof keys / sizeof keys[0]) return 1;
    for (i = 0; i < n; i++) { keys[i] = map->keys[i]; values[i] = map->values[i]; }
    for (i = 0; i < n && strcmp(keys[i], key) < 0; i++) ;
    if (i < n && strcmp(keys[i], key) == 0) {
        values[i] = (char *)value;
    } else {
        for (j = n; j > i; j--) { keys[j] = keys[j - 1]; values[j] = values[j - 1]; }
        keys[i] = (char *)key; values[i] = (char *)value; n++;
    }
    *out = intern((device_t *)ctx, n, keys, values);
    return *out == NULL;
}

static int host_without(void *ctx, ccs_params map, const char *key, ccs_params *out)
{
    char *keys[CCS_MAX_INSTANCES * 4], *values[CCS_MAX_INSTANCES * 4];
    size_t i, n = 0;
    if (map->n > sizeof keys / sizeof keys[0]) return 1;
    for (i = 0; i < map->n; i++) {
        if (strcmp(map->keys[i], key) == 0) continue;
        keys[n] = map->keys[i]; values[n++] = map->values[i];
    }
    *out = intern((device_t *)ctx, n, keys, values);
    return *out == NULL;
}

/* -- the device's tree and its file ---------------------------------------------------------- */

static void forget(device_t *dev)
{
    struct ccs_params_ *m = dev->maps, *next;
    size_t i;
    for (i = 0; i < dev->n; i++) free((char *)dev->slots[i].name);
    dev->n = 0;
    while (m != NULL) {
        next = m->next;
        for (i = 0; i < m->n; i++) { free(m->keys[i]); free(m->values[i]); }
        free(m->keys); free(m->values); free(m);
        m = next;
    }
    dev->maps = NULL;
}

static void encode(FILE *f, const char *s)
{
    for (; *s != 0; s++) {
        unsigned char c = (unsigned char)*s;
        if (c <= ' ' || c >= 0x7f || c == '%') fprintf(f, "%%%02X", c);
        else fputc(c, f);
    }
}

static void decode(char *s)
{
    char *out = s;
    for (; *s != 0; s++) {
        unsigned int c;
        if (*s == '%' && sscanf(s + 1, "%2X", &c) == 1) { *out++ = (char)c; s += 2; }
        else *out++ = *s;
    }
    *out = 0;
}

static int save(const device_t *dev)
{
    FILE *f;
    size_t i, k;
    char partial[4096];
    if (dev->state_file == NULL) return 0;
    if (snprintf(partial, sizeof partial, "%s.partial", dev->state_file) >= (int)sizeof partial) return 1;
    f = fopen(partial, "w");
    if (f == NULL) return 1;
    for (i = 0; i < dev->n; i++) {
        const ccs_record *r = &dev->slots[i].rec;
        fputs("i ", f);
        encode(f, dev->slots[i].name);
        fprintf(f, " %d %d %d\n", r->active, r->default_, r->locked);
        for (k = 0; k < r->params->n; k++) {
            fputs("p ", f);
            encode(f, r->params->keys[k]);
            fputc(' ', f);
            encode(f, r->params->values[k]);
            fputc('\n', f);
        }
    }
    if (fclose(f) != 0) return 1;
    return rename(partial, dev->state_file) != 0;
}

/* Read the state file (a missing one is the empty tree). */
static int load(device_t *dev)
{
    FILE *f;
    char line[4096];
    char *keys[CCS_MAX_INSTANCES * 4], *values[CCS_MAX_INSTANCES * 4];
    size_t n = 0, i;
    int ok = 1;
    dev->host.empty = intern(dev, 0, NULL, NULL);
    if (dev->host.empty == NULL) return 1;
    if (dev->state_file == NULL || (f = fopen(dev->state_file, "r")) == NULL) return 0;
    while (ok && fgets(line, sizeof line, f) != NULL) {
        char a[4096], b[4096];
        int active, dflt, locked;
        line[strcspn(line, "\n")] = 0;
        if (sscanf(line, "i %4095s %d %d %d", a, &active, &dflt, &locked) == 4) {
            if (dev->n > 0) dev->slots[dev->n - 1].rec.params = intern(dev, n, keys, values);
            for (i = 0; i < n; i++) { free(keys[i]); free(values[i]); }
            n = 0;
            if (dev->n == CCS_MAX_INSTANCES) { ok = 0; break; }
            decode(a);
            dev->slots[dev->n].name = dup(a);
            dev->slots[dev->n].rec.exists = 1;
            dev->slots[dev->n].rec.active = (unsigned char)active;
            dev->slots[dev->n].rec.default_ = (unsigned char)dflt;
            dev->slots[dev->n].rec.locked = (unsigned char)locked;
            dev->slots[dev->n].rec.params = dev->host.empty;
            dev->n++;
        } else if (sscanf(line, "p %4095s %4095s", a, b) >= 1 && dev->n > 0 && n < 4 * CCS_MAX_INSTANCES) {
            if (sscanf(line, "p %4095s %4095s", a, b) == 1) b[0] = 0;
            decode(a); decode(b);
            /* parameters arrive in key order (save writes them so) */
            keys[n] = dup(a); values[n] = dup(b); n++;
        }
    }
    if (dev->n > 0) dev->slots[dev->n - 1].rec.params = intern(dev, n, keys, values);
    for (i = 0; i < n; i++) { free(keys[i]); free(values[i]); }
    fclose(f);
    return !ok;
}

/* The records after a step become the device's: names copied, the old ones freed. */
static int commit(device_t *dev, const ccs_outcome *out)
{
    ccs_slot next[CCS_MAX_INSTANCES];
    size_t i;
    for (i = 0; i < out->n_post; i++) {
        next[i] = out->post[i];
        next[i].name = dup(out->post[i].name);
        if (next[i].name == NULL) { while (i-- > 0) free((char *)next[i].name); return 1; }
    }
    for (i = 0; i < dev->n; i++) free((char *)dev->slots[i].name);
    for (i = 0; i < out->n_post; i++) dev->slots[i] = next[i];
    dev->n = out->n_post;
    return save(dev);
}

/* -- one request through the generated C ----------------------------------------------------- */

typedef struct args {
    int value;
    const char *param, *text;
} args_t;

/* Decide op for the actor on the device, apply its records on 200: the DM status. */
static int decide(device_t *dev, const char *op, int server, const char *instance, const args_t *a,
                  ccs_outcome *out)
{
    ccs_service svc;
    ccs_state st;
    ccs_request req;
    static ccs_slot post[CCS_MAX_INSTANCES];
    int rc;
    svc.name = SERVICE; svc.slots = dev->slots; svc.n = dev->n;
    st.services = &svc; st.n = 1;
    req.service = SERVICE; req.instance = instance; req.declines = 0;
    out->post = post; out->post_cap = CCS_MAX_INSTANCES;
#define CALL(OP) (server ? ccs_##OP##_server(&dev->host, &st, &req, CCS_CHECK, out) \
                        : ccs_##OP##_user(&dev->host, &st, &req, CCS_CHECK, out))
#define CALL_WITH(OP, X) (server ? ccs_##OP##_server(&dev->host, &st, &req, X, CCS_CHECK, out) \
                                 : ccs_##OP##_user(&dev->host, &st, &req, X, CCS_CHECK, out))
    if (strcmp(op, "add") == 0) {
        ccs_add_args x; x.params = NULL; rc = CALL_WITH(add, &x);
    } else if (strcmp(op, "delete") == 0) {
        rc = CALL(delete);
    } else if (strcmp(op, "replace") == 0) {
        ccs_replace_args x; x.param = a->param; x.value = a->text; rc = CALL_WITH(replace, &x);
    } else if (strcmp(op, "delete_param") == 0) {
        ccs_delete_param_args x; x.param = a->param; rc = CALL_WITH(delete_param, &x);
    } else if (strcmp(op, "set_active") == 0) {
        ccs_set_active_args x; x.value = a->value; rc = CALL_WITH(set_active, &x);
    } else if (strcmp(op, "set_default") == 0) {
        ccs_set_default_args x; x.value = a->value; rc = CALL_WITH(set_default, &x);
    } else if (strcmp(op, "set_locked") == 0) {
        ccs_set_locked_args x; x.value = a->value; rc = CALL_WITH(set_locked, &x);
    } else if (strcmp(op, "get") == 0) {
        rc = CALL(get);
    } else if (strcmp(op, "get_active") == 0) {
        rc = CALL(get_active);
    } else if (strcmp(op, "in_use") == 0) {
        rc = CALL(in_use);
    } else {
        return OMADM_SYNCML_ERROR_COMMAND_NOT_IMPLEMENTED;
    }
#undef CALL
#undef CALL_WITH
    if (rc == CCS_E_CAPACITY) return OMADM_SYNCML_ERROR_DEVICE_FULL;
    if (rc != CCS_DECIDED) return OMADM_SYNCML_ERROR_COMMAND_FAILED;
    if (out->status == CCS_OK && strncmp(op, "get", 3) != 0 && strcmp(op, "in_use") != 0
        && commit(dev, out) != 0)
        return OMADM_SYNCML_ERROR_COMMAND_FAILED;
    return out->status == CCS_OK ? OMADM_SYNCML_ERROR_NONE : out->status;
}

/* -- the DM tree under ./MMS ------------------------------------------------------------------ */

enum kind { K_NONE, K_ROOT, K_INSTANCE, K_PARAM, K_EXT, K_CCS, K_FLAG };

typedef struct where {
    enum kind kind;
    char instance[256];
    char leaf[256]; /* a parameter or a flag */
} where_t;

static const char *const FLAGS[] = {"Active", "Default", "Locked"};

static int flag_index(const char *name)
{
    int i;
    for (i = 0; i < 3; i++) if (strcmp(FLAGS[i], name) == 0) return i;
    return -1;
}

static size_t find(const device_t *dev, const char *name)
{
    size_t i;
    for (i = 0; i < dev->n; i++) if (strcmp(dev->slots[i].name, name) == 0) return i;
    return dev->n;
}

/* Which node a URI names (the syntax only: whether it exists is the caller's question). */
static where_t locate(const device_t *dev, const char *uri)
{
    where_t w;
    const char *rest, *slash;
    size_t len;
    memset(&w, 0, sizeof w);
    if (strncmp(uri, BASE, strlen(BASE)) != 0) return w;
    rest = uri + strlen(BASE);
    if (*rest == 0) { w.kind = K_ROOT; return w; }
    if (*rest++ != '/') return w;
    slash = strchr(rest, '/');
    len = slash ? (size_t)(slash - rest) : strlen(rest);
    if (len == 0 || len >= sizeof w.instance) return w;
    memcpy(w.instance, rest, len);
    if (slash == NULL) { w.kind = K_INSTANCE; return w; }
    rest = slash + 1;
    if (dev->leaves && strcmp(rest, "Ext") == 0) { w.kind = K_EXT; return w; }
    if (dev->leaves && strcmp(rest, "Ext/CCS") == 0) { w.kind = K_CCS; return w; }
    if (dev->leaves && strncmp(rest, "Ext/CCS/", 8) == 0 && flag_index(rest + 8) >= 0) {
        w.kind = K_FLAG; strcpy(w.leaf, rest + 8); return w;
    }
    if (strchr(rest, '/') != NULL || strlen(rest) >= sizeof w.leaf || *rest == 0) return w;
    if (dev->leaves && strcmp(rest, "Ext") == 0) return w;
    w.kind = K_PARAM;
    strcpy(w.leaf, rest);
    return w;
}

static const char *param_value(const ccs_record *r, const char *key)
{
    size_t k;
    for (k = 0; k < r->params->n; k++) if (strcmp(r->params->keys[k], key) == 0) return r->params->values[k];
    return NULL;
}

static int flag_of(const ccs_record *r, int index)
{
    return index == 0 ? r->active : index == 1 ? r->default_ : r->locked;
}

static int is_node(const char *uri, omadmtree_node_kind_t *type, void *data)
{
    device_t *dev = data;
    where_t w = locate(dev, uri);
    size_t i = find(dev, w.instance);
    *type = OMADM_NODE_NOT_EXIST;
    switch (w.kind) {
    case K_ROOT: *type = OMADM_NODE_IS_INTERIOR; break;
    case K_INSTANCE: case K_EXT: case K_CCS:
        if (i < dev->n) *type = OMADM_NODE_IS_INTERIOR;
        break;
    case K_FLAG: if (i < dev->n) *type = OMADM_NODE_IS_LEAF; break;
    case K_PARAM:
        if (i < dev->n && param_value(&dev->slots[i].rec, w.leaf) != NULL) *type = OMADM_NODE_IS_LEAF;
        break;
    case K_NONE: break;
    }
    return OMADM_SYNCML_ERROR_NONE;
}

static int set_text(dmtree_node_t *node, const char *text, const char *format)
{
    node->data_buffer = dup(text);
    node->format = dup(format);
    node->type = dup(strcmp(format, "node") == 0 ? "" : "text/plain");
    if (node->data_buffer == NULL || node->format == NULL || node->type == NULL)
        return OMADM_SYNCML_ERROR_DEVICE_FULL;
    node->data_size = (unsigned int)strlen(text);
    return OMADM_SYNCML_ERROR_NONE;
}

/* The children of an interior node, '/'-separated. */
static int children(const device_t *dev, const where_t *w, dmtree_node_t *node)
{
    char list[8192];
    size_t used = 0, i, k;
    const ccs_record *r;
    list[0] = 0;
    if (w->kind == K_ROOT) {
        for (i = 0; i < dev->n; i++) {
            used += (size_t)snprintf(list + used, sizeof list - used, "%s%s", used ? "/" : "",
                                     dev->slots[i].name);
            if (used >= sizeof list) return OMADM_SYNCML_ERROR_DEVICE_FULL;
        }
        return set_text(node, list, "node");
    }
    if (w->kind == K_EXT) return set_text(node, "CCS", "node");
    if (w->kind == K_CCS) return set_text(node, "Active/Default/Locked", "node");
    r = &dev->slots[find(dev, w->instance)].rec;
    for (k = 0; k < r->params->n; k++) {
        used += (size_t)snprintf(list + used, sizeof list - used, "%s%s", used ? "/" : "",
                                 r->params->keys[k]);
        if (used >= sizeof list) return OMADM_SYNCML_ERROR_DEVICE_FULL;
    }
    if (dev->leaves) snprintf(list + used, sizeof list - used, "%sExt", used ? "/" : "");
    return set_text(node, list, "node");
}

/* A Get: the instance's record as the spec's get query gives it (404 as it says). */
static int get(dmtree_node_t *node, void *data)
{
    device_t *dev = data;
    where_t w = locate(dev, node->uri);
    ccs_outcome out;
    args_t none;
    int code;
    memset(&none, 0, sizeof none);
    if (w.kind == K_NONE) return OMADM_SYNCML_ERROR_NOT_FOUND;
    if (w.kind == K_ROOT) return children(dev, &w, node);
    code = decide(dev, "get", 1, w.instance, &none, &out);
    if (code != OMADM_SYNCML_ERROR_NONE) return code;
    switch (w.kind) {
    case K_INSTANCE: case K_EXT: case K_CCS: return children(dev, &w, node);
    case K_FLAG: return set_text(node, flag_of(&out.result, flag_index(w.leaf)) ? "true" : "false", "bool");
    case K_PARAM: {
        const char *value = param_value(&out.result, w.leaf);
        return value == NULL ? OMADM_SYNCML_ERROR_NOT_FOUND : set_text(node, value, "chr");
    }
    default: return OMADM_SYNCML_ERROR_NOT_FOUND;
    }
}

static int text_of(const dmtree_node_t *node, char *buffer, size_t size)
{
    if (node->data_size >= size) return 1;
    if (node->data_size > 0) memcpy(buffer, node->data_buffer, node->data_size);
    buffer[node->data_size] = 0;
    return 0;
}

static int set_flag(device_t *dev, const char *instance, int index, const dmtree_node_t *node)
{
    static const char *const OPS[] = {"set_active", "set_default", "set_locked"};
    char text[16];
    args_t a;
    ccs_outcome out;
    memset(&a, 0, sizeof a);
    if (text_of(node, text, sizeof text)) return OMADM_SYNCML_ERROR_COMMAND_FAILED;
    if (strcmp(text, "true") == 0) a.value = 1;
    else if (strcmp(text, "false") != 0) return OMADM_SYNCML_ERROR_COMMAND_FAILED;
    return decide(dev, OPS[index], 1, instance, &a, &out);
}

/* An Add or a Replace (the core has answered 418 or 404 by the node's existence already). */
static int set(const dmtree_node_t *node, void *data)
{
    device_t *dev = data;
    where_t w = locate(dev, node->uri);
    char text[4096];
    args_t a;
    ccs_outcome out;
    memset(&a, 0, sizeof a);
    switch (w.kind) {
    case K_INSTANCE:
        return decide(dev, "add", 1, w.instance, &a, &out);
    case K_PARAM:
        if (text_of(node, text, sizeof text)) return OMADM_SYNCML_ERROR_COMMAND_FAILED;
        a.param = w.leaf;
        a.text = text;
        return decide(dev, "replace", 1, w.instance, &a, &out);
    case K_FLAG:
        return set_flag(dev, w.instance, flag_index(w.leaf), node);
    default:
        return OMADM_SYNCML_ERROR_NOT_ALLOWED;
    }
}

static int delete_node(const char *uri, void *data)
{
    device_t *dev = data;
    where_t w = locate(dev, uri);
    args_t a;
    ccs_outcome out;
    memset(&a, 0, sizeof a);
    switch (w.kind) {
    case K_INSTANCE: return decide(dev, "delete", 1, w.instance, &a, &out);
    case K_PARAM: a.param = w.leaf; return decide(dev, "delete_param", 1, w.instance, &a, &out);
    default: return OMADM_SYNCML_ERROR_NOT_ALLOWED;
    }
}

static int get_acl(const char *uri, char **acl, void *data)
{
    (void)data;
    *acl = strcmp(uri, BASE) == 0 ? dup(ACL) : NULL;
    return OMADM_SYNCML_ERROR_NONE;
}

/* libdmclient gives a node it adds an ACL of its own when the parent's does not grant Replace
   (and, as its ACL check cuts the parent's ACL string short, always: dmtree.c, dmtree_add):
   the instances inherit ./MMS's, which grants every command, so there is nothing to keep. */
static int set_acl(const char *uri, const char *acl, void *data)
{
    (void)uri; (void)acl; (void)data;
    return OMADM_SYNCML_ERROR_NONE;
}

/* The flags as node properties (patch 02's callbacks). */
static int get_prop(const char *uri, const char *prop, dmtree_node_t *node, void *data)
{
    device_t *dev = data;
    where_t w = locate(dev, uri);
    int index = flag_index(prop);
    ccs_outcome out;
    args_t none;
    int code;
    memset(&none, 0, sizeof none);
    if (dev->leaves || index < 0 || w.kind != K_INSTANCE) return OMADM_SYNCML_ERROR_OPTIONAL_FEATURE_NOT_SUPPORTED;
    code = decide(dev, "get", 1, w.instance, &none, &out);
    if (code != OMADM_SYNCML_ERROR_NONE) return code;
    return set_text(node, flag_of(&out.result, index) ? "true" : "false", "bool");
}

static int set_prop(const char *uri, const char *prop, const dmtree_node_t *node, void *data)
{
    device_t *dev = data;
    where_t w = locate(dev, uri);
    int index = flag_index(prop);
    if (dev->leaves || index < 0 || w.kind != K_INSTANCE) return OMADM_SYNCML_ERROR_NOT_ALLOWED;
    return set_flag(dev, w.instance, index, node);
}

static int init(void **data)
{
    device_t *dev = calloc(1, sizeof *dev);
    const char *binding = getenv("MOSTATE_CCS_BINDING");
    if (dev == NULL) return OMADM_SYNCML_ERROR_DEVICE_FULL;
    dev->leaves = binding != NULL && strcmp(binding, "leaves") == 0;
    dev->state_file = getenv("MOSTATE_CCS_STATE");
    dev->host.ctx = dev;
    dev->host.equal = host_equal;
    dev->host.with = host_with;
    dev->host.without = host_without;
    if (load(dev) != 0) { forget(dev); free(dev); return OMADM_SYNCML_ERROR_COMMAND_FAILED; }
    *data = dev;
    return OMADM_SYNCML_ERROR_NONE;
}

static void close_plugin(void *data)
{
    forget(data);
    free(data);
}

omadm_mo_interface_t *omadm_get_mo_interface(void)
{
    omadm_mo_interface_t *mo = calloc(1, sizeof *mo);
    if (mo == NULL) return NULL;
    mo->base_uri = dup(BASE);
    mo->initFunc = init;
    mo->closeFunc = close_plugin;
    mo->isNodeFunc = is_node;
    mo->getFunc = get;
    mo->setFunc = set;
    mo->getACLFunc = get_acl;
    mo->setACLFunc = set_acl;
    mo->deleteFunc = delete_node;
    mo->getPropFunc = get_prop;
    mo->setPropFunc = set_prop;
    return mo;
}

/* -- the user's side ---------------------------------------------------------------------------- */

/*
 * A person on the device: op (set_active, set_default, set_locked, replace, delete_param,
 * delete, add; the queries get, get_active, in_use) on instance of the tree in state_file, as
 * the user; value "true"/"false" for a
 * flag, param and value for a parameter. Returns the status the spec's C decided (200, 404,
 * 425...); the file is rewritten on 200.
 */
int ccs_plugin_user(const char *state_file, const char *op, const char *instance,
                    const char *param, const char *value)
{
    device_t dev;
    args_t a;
    ccs_outcome out;
    int code;
    memset(&dev, 0, sizeof dev);
    memset(&a, 0, sizeof a);
    dev.state_file = state_file;
    dev.host.ctx = &dev;
    dev.host.equal = host_equal;
    dev.host.with = host_with;
    dev.host.without = host_without;
    if (load(&dev) != 0) { forget(&dev); return OMADM_SYNCML_ERROR_COMMAND_FAILED; }
    a.value = value != NULL && strcmp(value, "true") == 0;
    a.param = param;
    a.text = value;
    code = decide(&dev, op, 0, instance, &a, &out);
    forget(&dev);
    return code == OMADM_SYNCML_ERROR_NONE ? 200 : code;
}
