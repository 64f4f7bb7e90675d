/*
 * scimkit-c-server: a SCIM 2.0 endpoint in C, on libmicrohttpd and libscimkit.
 *
 *     scimkit-c-server [--port N] [--store SPEC] [--base-path PATH] --token TOKEN[:TENANT]...
 *
 * Listens on 127.0.0.1:N (N = 0 picks a free port) and prints
 * "listening on 127.0.0.1:<port>" once ready. Every request is handed to
 * scimkit_server_handle as received (method, raw target, headers, body) and
 * its response written back; scimkit does all of SCIM. SIGINT / SIGTERM stop
 * it cleanly. SPEC is a scimkit store: "memory" (default) or "sqlite:<path>"
 * when the library has SQLite.
 *
 * libmicrohttpd calls the handler from one thread per connection, so this also
 * shows that one scimkit_server may be shared by many threads.
 */
#define _POSIX_C_SOURCE 200809L

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <scimkit.h>

/* Bodies larger than this are refused here (scimkit refuses more than 1 MiB). */
#define MAX_BODY (2u * 1024u * 1024u)
#define MAX_HEADERS 64

/* Per-request state, made by the URI log callback (which sees the raw target). */
typedef struct request {
    char *target; /* path and query, still percent-encoded */
    char *body;
    size_t len;
    size_t cap;
    bool started;
    bool too_large;
} request;

typedef struct header_list {
    scimkit_header items[MAX_HEADERS];
    size_t len;
} header_list;

static void *on_uri(void *cls, const char *uri, struct MHD_Connection *conn) {
    (void)cls;
    (void)conn;
    request *r = calloc(1, sizeof *r);
    if (r) {
        r->target = strdup(uri);
    }
    return r;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **req_cls,
                         enum MHD_RequestTerminationCode toe) {
    (void)cls;
    (void)conn;
    (void)toe;
    request *r = *req_cls;
    if (r) {
        free(r->target);
        free(r->body);
        free(r);
        *req_cls = NULL;
    }
}

static enum MHD_Result collect_header(void *cls, enum MHD_ValueKind kind, const char *key,
                                      const char *value) {
    (void)kind;
    header_list *h = cls;
    if (h->len == MAX_HEADERS) {
        return MHD_NO; /* stop: the rest is ignored */
    }
    h->items[h->len].name = (scimkit_str){key, strlen(key)};
    h->items[h->len].value = (scimkit_str){value ? value : "", value ? strlen(value) : 0};
    h->len++;
    return MHD_YES;
}

static bool append(request *r, const char *data, size_t n) {
    if (r->len + n > MAX_BODY) {
        r->too_large = true;
        return true;
    }
    if (r->len + n > r->cap) {
        size_t cap = r->cap ? r->cap : 4096;
        while (cap < r->len + n) {
            cap *= 2;
        }
        char *b = realloc(r->body, cap);
        if (!b) {
            return false;
        }
        r->body = b;
        r->cap = cap;
    }
    memcpy(r->body + r->len, data, n);
    r->len += n;
    return true;
}

static enum MHD_Result reply_plain(struct MHD_Connection *conn, unsigned status, const char *text) {
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(strlen(text), (void *)text, MHD_RESPMEM_PERSISTENT);
    if (!resp) {
        return MHD_NO;
    }
    MHD_add_response_header(resp, "Content-Type", "text/plain");
    enum MHD_Result ret = MHD_queue_response(conn, status, resp);
    MHD_destroy_response(resp);
    return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **req_cls) {
    (void)url; /* decoded; scimkit wants the raw target from on_uri */
    (void)version;
    const scimkit_server *server = cls;
    request *r = *req_cls;
    if (!r || !r->target) {
        return MHD_NO;
    }
    if (!r->started) { /* headers only; the body (if any) follows */
        r->started = true;
        return MHD_YES;
    }
    if (*upload_data_size != 0) {
        if (!append(r, upload_data, *upload_data_size)) {
            return MHD_NO;
        }
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (r->too_large) {
        return reply_plain(conn, 413, "request body too large\n");
    }

    header_list headers;
    headers.len = 0;
    MHD_get_connection_values(conn, MHD_HEADER_KIND, collect_header, &headers);

    scimkit_response *resp = NULL;
    scimkit_result rc = scimkit_server_handle(
        server, method, strlen(method), r->target, strlen(r->target), headers.items, headers.len,
        (const uint8_t *)r->body, r->len, &resp);
    if (rc != SCIMKIT_RESULT_OK) {
        /* Misuse or a scimkit bug: not a client mistake, but say so plainly. */
        scimkit_str m = scimkit_result_message(rc);
        fprintf(stderr, "scimkit_server_handle: %.*s\n", (int)m.len, m.data);
        return reply_plain(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal error\n");
    }

    const uint8_t *body = NULL;
    size_t body_len = 0;
    scimkit_response_body(resp, &body, &body_len);
    struct MHD_Response *out =
        MHD_create_response_from_buffer(body_len, (void *)body, MHD_RESPMEM_MUST_COPY);
    if (!out) {
        scimkit_response_free(resp);
        return MHD_NO;
    }
    size_t count = scimkit_response_header_count(resp);
    for (size_t i = 0; i < count; i++) {
        scimkit_str k, v;
        if (scimkit_response_header(resp, i, &k, &v) != SCIMKIT_RESULT_OK) {
            continue;
        }
        /* MHD wants C strings. */
        char name[128], value[1024];
        if (k.len >= sizeof name || v.len >= sizeof value) {
            continue;
        }
        memcpy(name, k.data, k.len);
        name[k.len] = '\0';
        memcpy(value, v.data, v.len);
        value[v.len] = '\0';
        MHD_add_response_header(out, name, value);
    }
    enum MHD_Result ret = MHD_queue_response(conn, scimkit_response_status(resp), out);
    MHD_destroy_response(out);
    scimkit_response_free(resp);
    return ret;
}

static void usage(const char *argv0) {
    fprintf(stderr,
            "usage: %s [--port N] [--store SPEC] [--base-path PATH] --token TOKEN[:TENANT]...\n",
            argv0);
}

static bool check(scimkit_config_builder *b, scimkit_result rc, const char *what) {
    if (rc == SCIMKIT_RESULT_OK) {
        return true;
    }
    char detail[512];
    size_t n = 0;
    if (scimkit_config_builder_error_message(b, detail, sizeof detail, &n) != SCIMKIT_RESULT_OK) {
        n = 0;
    }
    scimkit_str m = scimkit_result_message(rc);
    fprintf(stderr, "%s: %.*s%s%.*s\n", what, (int)m.len, m.data, n ? ": " : "", (int)n, detail);
    return false;
}

int main(int argc, char **argv) {
    unsigned port = 0;
    scimkit_config_builder *b = scimkit_config_builder_new();
    bool ok = b != NULL, have_store = false;
    for (int i = 1; ok && i < argc; i++) {
        const char *arg = argv[i];
        const char *val = i + 1 < argc ? argv[i + 1] : NULL;
        if (!val) {
            usage(argv[0]);
            ok = false;
        } else if (strcmp(arg, "--port") == 0) {
            port = (unsigned)strtoul(val, NULL, 10);
            i++;
        } else if (strcmp(arg, "--store") == 0) {
            ok = check(b, scimkit_config_builder_set_store(b, val, strlen(val)), "--store");
            have_store = true;
            i++;
        } else if (strcmp(arg, "--base-path") == 0) {
            ok = check(b, scimkit_config_builder_set_base_path(b, val, strlen(val)), "--base-path");
            i++;
        } else if (strcmp(arg, "--token") == 0) {
            const char *colon = strchr(val, ':');
            size_t tlen = colon ? (size_t)(colon - val) : strlen(val);
            const char *tenant = colon ? colon + 1 : "default";
            ok = check(b, scimkit_config_builder_add_token(b, val, tlen, tenant, strlen(tenant)),
                       "--token");
            i++;
        } else {
            usage(argv[0]);
            ok = false;
        }
    }
    if (ok && !have_store) {
        ok = check(b, scimkit_config_builder_set_store(b, "memory", 6), "store");
    }
    scimkit_server *server = NULL;
    if (ok) {
        ok = check(b, scimkit_config_builder_build(b, &server), "configuration");
    }
    scimkit_config_builder_free(b);
    if (!ok) {
        return 2;
    }

    /* Signals are taken by sigwait below; block them before MHD's threads start. */
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);

    struct sockaddr_in addr;
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_port = htons((uint16_t)port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    struct MHD_Daemon *d = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION | MHD_USE_ERROR_LOG, 0,
        NULL, NULL, on_request, server, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
        MHD_OPTION_URI_LOG_CALLBACK, on_uri, NULL, MHD_OPTION_NOTIFY_COMPLETED, on_completed,
        NULL, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)30, MHD_OPTION_END);
    if (!d) {
        fprintf(stderr, "cannot listen on 127.0.0.1:%u\n", port);
        scimkit_server_free(server);
        return 1;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    scimkit_str version = scimkit_version();
    printf("%.*s listening on 127.0.0.1:%u\n", (int)version.len, version.data,
           info ? (unsigned)info->port : port);
    fflush(stdout);

    int sig = 0;
    sigwait(&stop, &sig);
    fprintf(stderr, "signal %d: stopping\n", sig);
    MHD_stop_daemon(d); /* waits for the connection threads */
    scimkit_server_free(server);
    return 0;
}
