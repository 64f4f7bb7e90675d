/*
 * testutil.h: a tiny test harness for the C tests (header-only).
 *
 * CHECK(cond) counts a pass or a failure (and says where it failed); the
 * program ends with TEST_SUMMARY(), which prints "N passed, N failed" and
 * gives the exit status.
 */
#ifndef SCIMKIT_TESTUTIL_H
#define SCIMKIT_TESTUTIL_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scimkit.h"

static int tests_passed;
static int tests_failed;

#define CHECK(cond)                                                                   \
    do {                                                                              \
        if (cond) {                                                                   \
            tests_passed++;                                                           \
        } else {                                                                      \
            tests_failed++;                                                           \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
        }                                                                             \
    } while (0)

#define CHECK_RC(call, expected)                                                       \
    do {                                                                               \
        scimkit_result rc_ = (call);                                                   \
        if (rc_ == (scimkit_result)(expected)) {                                       \
            tests_passed++;                                                            \
        } else {                                                                       \
            tests_failed++;                                                            \
            scimkit_str m_ = scimkit_result_message(rc_);                              \
            fprintf(stderr, "%s:%d: %s returned %u (%.*s), expected %s\n", __FILE__,   \
                    __LINE__, #call, (unsigned)rc_, (int)m_.len, m_.data, #expected); \
        }                                                                              \
    } while (0)

#define TEST_SUMMARY()                                               \
    (printf("%d passed, %d failed\n", tests_passed, tests_failed), \
     fflush(stdout), tests_failed == 0 ? 0 : 1)

/* A request's outcome: the response (owned; free with reply_free) and its
 * parts. body is NUL-terminated for convenience (a copy). */
typedef struct reply {
    scimkit_result rc;
    scimkit_response *resp;
    uint16_t status;
    char *body;
    size_t body_len;
} reply;

static inline void reply_free(reply *r) {
    scimkit_response_free(r->resp);
    free(r->body);
    memset(r, 0, sizeof *r);
}

/* Send one request; token may be NULL (no Authorization header). */
static inline reply request(const scimkit_server *server, const char *method, const char *target,
                     const char *token, const char *body) {
    reply r;
    memset(&r, 0, sizeof r);
    char auth[256];
    scimkit_header headers[3];
    size_t n = 0;
    headers[n].name = (scimkit_str){"Content-Type", 12};
    headers[n].value = (scimkit_str){"application/scim+json", 21};
    n++;
    headers[n].name = (scimkit_str){"Host", 4};
    headers[n].value = (scimkit_str){"localhost", 9};
    n++;
    if (token) {
        int len = snprintf(auth, sizeof auth, "Bearer %s", token);
        headers[n].name = (scimkit_str){"Authorization", 13};
        headers[n].value = (scimkit_str){auth, (size_t)len};
        n++;
    }
    r.rc = scimkit_server_handle(server, method, strlen(method), target, strlen(target), headers,
                                 n, (const uint8_t *)body, body ? strlen(body) : 0, &r.resp);
    if (r.rc != SCIMKIT_RESULT_OK) {
        return r;
    }
    r.status = scimkit_response_status(r.resp);
    const uint8_t *b = NULL;
    size_t len = 0;
    if (scimkit_response_body(r.resp, &b, &len) == SCIMKIT_RESULT_OK) {
        r.body = (char *)malloc(len + 1);
        if (r.body) {
            if (len) {
                memcpy(r.body, b, len);
            }
            r.body[len] = '\0';
            r.body_len = len;
        }
    }
    return r;
}

/* Copy the first "id":"..." value of a JSON body into out (size n). */
static inline int json_id(const char *body, char *out, size_t n) {
    const char *p = body ? strstr(body, "\"id\":\"") : NULL;
    if (!p) {
        return 0;
    }
    p += 6;
    const char *end = strchr(p, '"');
    if (!end || (size_t)(end - p) >= n) {
        return 0;
    }
    memcpy(out, p, (size_t)(end - p));
    out[end - p] = '\0';
    return 1;
}

/* Whether a JSON body contains the text. */
static inline int contains(const char *body, const char *text) {
    return body && strstr(body, text) != NULL;
}

/* The value of a response header (case-sensitive lower-case name), or "". */
static inline scimkit_str response_header(const scimkit_response *resp, const char *name) {
    size_t count = scimkit_response_header_count(resp);
    for (size_t i = 0; i < count; i++) {
        scimkit_str k, v;
        if (scimkit_response_header(resp, i, &k, &v) == SCIMKIT_RESULT_OK &&
            k.len == strlen(name) && memcmp(k.data, name, k.len) == 0) {
            return v;
        }
    }
    return (scimkit_str){"", 0};
}

#endif /* SCIMKIT_TESTUTIL_H */
