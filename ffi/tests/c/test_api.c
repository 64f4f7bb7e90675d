/*
 * test_api.c: the C API from C — configuration, requests and responses, an
 * Entra ID provisioning flow, a store written in C (test_store.h), and misuse:
 * NULL pointers, invalid UTF-8, a consumed builder, callbacks that return
 * garbage. Uses only include/scimkit.h (and the test store).
 *
 * Built with -std=c11 -Wall -Wextra -Wpedantic -Werror, run under ASan+UBSan
 * and valgrind by scripts/stage-c.sh. Prints "N passed, N failed".
 */
#define _GNU_SOURCE /* memmem */
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "scimkit.h"
#include "test_store.h"
#include "testutil.h"

#define TOKEN "s3cret-token"
#define USER_SCHEMA "urn:ietf:params:scim:schemas:core:2.0:User"
#define GROUP_SCHEMA "urn:ietf:params:scim:schemas:core:2.0:Group"
#define PATCH_SCHEMA "urn:ietf:params:scim:api:messages:2.0:PatchOp"

/* A server on the given store spec ("memory"), or on a new C test store when
 * spec is NULL (then *store_out is that store, owned by the server). */
static scimkit_server *make_server(const char *spec, teststore **store_out) {
    scimkit_config_builder *b = scimkit_config_builder_new();
    scimkit_server *server = NULL;
    CHECK(b != NULL);
    CHECK_RC(scimkit_config_builder_add_token(b, TOKEN, strlen(TOKEN), "contoso", 7),
             SCIMKIT_RESULT_OK);
    if (spec) {
        CHECK_RC(scimkit_config_builder_set_store(b, spec, strlen(spec)), SCIMKIT_RESULT_OK);
    } else {
        teststore *ts = teststore_new();
        CHECK(ts != NULL);
        CHECK_RC(scimkit_config_builder_set_store_vtable(b, teststore_vtable(), ts),
                 SCIMKIT_RESULT_OK);
        *store_out = ts;
    }
    CHECK_RC(scimkit_config_builder_build(b, &server), SCIMKIT_RESULT_OK);
    CHECK(server != NULL);
    scimkit_config_builder_free(b);
    return server;
}

/* ===== version and result codes ===== */

static void test_version_and_messages(void) {
    scimkit_str v = scimkit_version();
    CHECK(v.len > 8 && strncmp(v.data, "scimkit/", 8) == 0);
    CHECK(v.data[v.len] == '\0'); /* also a C string */

    const uint32_t codes[] = {
        SCIMKIT_RESULT_OK,           SCIMKIT_RESULT_PANIC,
        SCIMKIT_RESULT_NULL_PARAMETER, SCIMKIT_RESULT_INVALID_UTF8,
        SCIMKIT_RESULT_INVALID_PARAMETER, SCIMKIT_RESULT_ALREADY_USED,
        SCIMKIT_RESULT_INSUFFICIENT_SIZE, SCIMKIT_RESULT_INVALID_JSON,
        SCIMKIT_RESULT_INVALID_CONFIG, SCIMKIT_RESULT_STORE_NOT_AVAILABLE,
        SCIMKIT_RESULT_STORE_OPEN_FAILED,
    };
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
        scimkit_str m = scimkit_result_message(codes[i]);
        CHECK(m.len > 0 && m.data[m.len] == '\0');
        CHECK(strcmp(m.data, "unknown result code") != 0);
    }
    /* The numbers are ABI: pinned. */
    CHECK(SCIMKIT_RESULT_OK == 0 && SCIMKIT_RESULT_NULL_PARAMETER == 100 &&
          SCIMKIT_RESULT_INVALID_CONFIG == 200);
    scimkit_str unknown = scimkit_result_message(99999);
    CHECK(strcmp(unknown.data, "unknown result code") == 0);
}

/* ===== the builder ===== */

static void test_builder_misuse(void) {
    scimkit_server *server = (scimkit_server *)(uintptr_t)1; /* must be overwritten */
    char msg[256];
    size_t n = 0;

    /* NULL everywhere. */
    scimkit_config_builder_free(NULL);
    CHECK_RC(scimkit_config_builder_set_base_path(NULL, "/x", 2), SCIMKIT_RESULT_NULL_PARAMETER);
    CHECK_RC(scimkit_config_builder_add_token(NULL, "a", 1, "b", 1),
             SCIMKIT_RESULT_NULL_PARAMETER);
    CHECK_RC(scimkit_config_builder_build(NULL, &server), SCIMKIT_RESULT_NULL_PARAMETER);
    CHECK(server == NULL);
    CHECK_RC(scimkit_config_builder_error_message(NULL, msg, sizeof msg, &n),
             SCIMKIT_RESULT_NULL_PARAMETER);

    scimkit_config_builder *b = scimkit_config_builder_new();
    CHECK_RC(scimkit_config_builder_set_base_path(b, NULL, 3), SCIMKIT_RESULT_NULL_PARAMETER);
    CHECK_RC(scimkit_config_builder_set_base_path(b, NULL, 0), SCIMKIT_RESULT_OK); /* "" */
    CHECK_RC(scimkit_config_builder_build(b, NULL), SCIMKIT_RESULT_NULL_PARAMETER);

    /* Invalid UTF-8. */
    const char bad_utf8[] = {'/', 's', (char)0xC3, (char)0x28};
    CHECK_RC(scimkit_config_builder_set_base_path(b, bad_utf8, sizeof bad_utf8),
             SCIMKIT_RESULT_INVALID_UTF8);
    CHECK_RC(scimkit_config_builder_add_token(b, bad_utf8, sizeof bad_utf8, "t", 1),
             SCIMKIT_RESULT_INVALID_UTF8);

    /* Out-of-range values. */
    CHECK_RC(scimkit_config_builder_add_token(b, "", 0, "t", 1),
             SCIMKIT_RESULT_INVALID_PARAMETER);
    CHECK_RC(scimkit_config_builder_set_max_body_size(b, 0), SCIMKIT_RESULT_INVALID_PARAMETER);
    CHECK_RC(scimkit_config_builder_set_max_results(b, 0), SCIMKIT_RESULT_INVALID_PARAMETER);

    /* Stores. */
    CHECK_RC(scimkit_config_builder_set_store(b, "redis://x", 9), SCIMKIT_RESULT_INVALID_CONFIG);
    CHECK_RC(scimkit_config_builder_error_message(b, msg, sizeof msg, &n), SCIMKIT_RESULT_OK);
    CHECK(n > 0 && n < sizeof msg && memmem(msg, n, "unknown store", 13) != NULL);
    /* PostgreSQL URLs are accepted as they are set (_build connects: see
     * test_postgres_unreachable); a builder holding one frees without connecting. */
    {
        scimkit_config_builder *pg = scimkit_config_builder_new();
        CHECK_RC(scimkit_config_builder_set_store(pg, "postgres://db/scim", 18), SCIMKIT_RESULT_OK);
        CHECK_RC(scimkit_config_builder_set_store(pg, "postgresql://db/scim", 20),
                 SCIMKIT_RESULT_OK);
        scimkit_config_builder_free(pg);
    }

    /* Error message into a buffer that is too small: nothing copied, size told. */
    char tiny[4] = {'x', 'x', 'x', 'x'};
    CHECK_RC(scimkit_config_builder_error_message(b, tiny, sizeof tiny, &n),
             SCIMKIT_RESULT_INSUFFICIENT_SIZE);
    CHECK(n > sizeof tiny && tiny[0] == 'x');
    CHECK_RC(scimkit_config_builder_error_message(b, NULL, 0, NULL),
             SCIMKIT_RESULT_NULL_PARAMETER);

    /* Building without a store: INVALID_CONFIG with a message; consumed. */
    CHECK_RC(scimkit_config_builder_add_token(b, "t", 1, "tenant", 6), SCIMKIT_RESULT_OK);
    server = (scimkit_server *)(uintptr_t)1;
    CHECK_RC(scimkit_config_builder_build(b, &server), SCIMKIT_RESULT_INVALID_CONFIG);
    CHECK(server == NULL);
    CHECK_RC(scimkit_config_builder_error_message(b, msg, sizeof msg, &n), SCIMKIT_RESULT_OK);
    CHECK(n > 0 && memmem(msg, n, "no store", 8) != NULL);

    /* Double use of a consumed builder. */
    CHECK_RC(scimkit_config_builder_build(b, &server), SCIMKIT_RESULT_ALREADY_USED);
    CHECK(server == NULL);
    CHECK_RC(scimkit_config_builder_set_store(b, "memory", 6), SCIMKIT_RESULT_ALREADY_USED);
    CHECK_RC(scimkit_config_builder_add_token(b, "t", 1, "x", 1), SCIMKIT_RESULT_ALREADY_USED);
    CHECK_RC(scimkit_config_builder_set_store_vtable(b, teststore_vtable(), NULL),
             SCIMKIT_RESULT_ALREADY_USED);
    scimkit_config_builder_free(b);

    /* No token. */
    b = scimkit_config_builder_new();
    CHECK_RC(scimkit_config_builder_set_store(b, "memory", 6), SCIMKIT_RESULT_OK);
    CHECK_RC(scimkit_config_builder_build(b, &server), SCIMKIT_RESULT_INVALID_CONFIG);
    CHECK_RC(scimkit_config_builder_error_message(b, msg, sizeof msg, &n), SCIMKIT_RESULT_OK);
    CHECK(memmem(msg, n, "no authentication", 17) != NULL);
    scimkit_config_builder_free(b);

    /* A bad base path. */
    b = scimkit_config_builder_new();
    CHECK_RC(scimkit_config_builder_set_store(b, "memory", 6), SCIMKIT_RESULT_OK);
    CHECK_RC(scimkit_config_builder_add_token(b, "t", 1, "x", 1), SCIMKIT_RESULT_OK);
    CHECK_RC(scimkit_config_builder_set_base_path(b, "scim?x", 6), SCIMKIT_RESULT_OK);
    CHECK_RC(scimkit_config_builder_build(b, &server), SCIMKIT_RESULT_INVALID_CONFIG);
    CHECK_RC(scimkit_config_builder_error_message(b, msg, sizeof msg, &n), SCIMKIT_RESULT_OK);
    CHECK(memmem(msg, n, "base path", 9) != NULL);
    scimkit_config_builder_free(b);

    /* A freed builder with no failure has an empty message. */
    b = scimkit_config_builder_new();
    CHECK_RC(scimkit_config_builder_error_message(b, NULL, 0, &n), SCIMKIT_RESULT_OK);
    CHECK(n == 0);
    scimkit_config_builder_free(b);
}

static void test_vtable_misuse(void) {
    long live = teststore_live_count();
    scimkit_config_builder *b = scimkit_config_builder_new();
    teststore *ts = teststore_new();

    CHECK_RC(scimkit_config_builder_set_store_vtable(b, NULL, ts), SCIMKIT_RESULT_NULL_PARAMETER);
    scimkit_store_vtable vt = *teststore_vtable();
    vt.query = NULL; /* a required callback */
    CHECK_RC(scimkit_config_builder_set_store_vtable(b, &vt, ts), SCIMKIT_RESULT_NULL_PARAMETER);
    vt = *teststore_vtable();
    vt.flags = 0x80; /* unknown flag */
    CHECK_RC(scimkit_config_builder_set_store_vtable(b, &vt, ts),
             SCIMKIT_RESULT_INVALID_PARAMETER);
    /* Rejected: the caller still owns the store. */
    CHECK(teststore_live_count() == live + 1);

    /* Accepted, then replaced by another store: freed at once. */
    CHECK_RC(scimkit_config_builder_set_store_vtable(b, teststore_vtable(), ts),
             SCIMKIT_RESULT_OK);
    CHECK(teststore_live_count() == live + 1);
    CHECK_RC(scimkit_config_builder_set_store(b, "memory", 6), SCIMKIT_RESULT_OK);
    CHECK(teststore_live_count() == live);

    /* Accepted and never built: freed with the builder. */
    CHECK_RC(scimkit_config_builder_set_store_vtable(b, teststore_vtable(), teststore_new()),
             SCIMKIT_RESULT_OK);
    CHECK(teststore_live_count() == live + 1);
    scimkit_config_builder_free(b);
    CHECK(teststore_live_count() == live);

    /* A failed build frees it too. */
    b = scimkit_config_builder_new();
    CHECK_RC(scimkit_config_builder_set_store_vtable(b, teststore_vtable(), teststore_new()),
             SCIMKIT_RESULT_OK);
    scimkit_server *server = NULL;
    CHECK_RC(scimkit_config_builder_build(b, &server), SCIMKIT_RESULT_INVALID_CONFIG);
    CHECK(teststore_live_count() == live);
    scimkit_config_builder_free(b);

    /* The sink refuses NULL. */
    CHECK_RC(scimkit_store_out_push(NULL, (const uint8_t *)"{}", 2, 1),
             SCIMKIT_RESULT_NULL_PARAMETER);
    CHECK_RC(scimkit_store_query_filter(NULL, NULL), SCIMKIT_RESULT_NULL_PARAMETER);
    CHECK(!scimkit_store_query_include_members(NULL));
}

/* ===== requests ===== */

static void test_handle_misuse(void) {
    scimkit_server *server = make_server("memory", NULL);
    scimkit_response *resp = (scimkit_response *)(uintptr_t)1;

    CHECK_RC(scimkit_server_handle(NULL, "GET", 3, "/", 1, NULL, 0, NULL, 0, &resp),
             SCIMKIT_RESULT_NULL_PARAMETER);
    CHECK(resp == NULL);
    CHECK_RC(scimkit_server_handle(server, "GET", 3, "/", 1, NULL, 0, NULL, 0, NULL),
             SCIMKIT_RESULT_NULL_PARAMETER);
    CHECK_RC(scimkit_server_handle(server, NULL, 3, "/", 1, NULL, 0, NULL, 0, &resp),
             SCIMKIT_RESULT_NULL_PARAMETER);
    CHECK_RC(scimkit_server_handle(server, "GET", 3, "/", 1, NULL, 2, NULL, 0, &resp),
             SCIMKIT_RESULT_NULL_PARAMETER);
    CHECK_RC(scimkit_server_handle(server, "POST", 4, "/", 1, NULL, 0, NULL, 10, &resp),
             SCIMKIT_RESULT_NULL_PARAMETER);
    const char bad_path[] = {'/', 's', 'c', (char)0xFF};
    CHECK_RC(scimkit_server_handle(server, "GET", 3, bad_path, sizeof bad_path, NULL, 0, NULL, 0,
                                   &resp),
             SCIMKIT_RESULT_INVALID_UTF8);
    CHECK(resp == NULL);

    /* Malformed requests are SCIM 400 responses, not errors. */
    reply r = request(server, "G E T", "/scim/v2/Users", TOKEN, NULL);
    CHECK(r.rc == SCIMKIT_RESULT_OK && r.status == 400);
    CHECK(contains(r.body, "urn:ietf:params:scim:api:messages:2.0:Error"));
    reply_free(&r);
    r = request(server, "GET", "scim/v2/Users", TOKEN, NULL);
    CHECK(r.rc == SCIMKIT_RESULT_OK && r.status == 400);
    reply_free(&r);
    scimkit_header bad_header = {{"Bad Name", 8}, {"x", 1}};
    CHECK_RC(scimkit_server_handle(server, "GET", 3, "/scim/v2/Users", 14, &bad_header, 1, NULL,
                                   0, &resp),
             SCIMKIT_RESULT_OK);
    CHECK(scimkit_response_status(resp) == 400);
    scimkit_response_free(resp);
    scimkit_header bad_value = {{"Authorization", 13}, {"Bearer \n", 8}};
    CHECK_RC(scimkit_server_handle(server, "GET", 3, "/scim/v2/Users", 14, &bad_value, 1, NULL,
                                   0, &resp),
             SCIMKIT_RESULT_OK);
    CHECK(scimkit_response_status(resp) == 400);
    scimkit_response_free(resp);

    /* Response accessors with bad arguments. */
    r = request(server, "GET", "/scim/v2/ServiceProviderConfig", NULL, NULL);
    CHECK(r.status == 200);
    scimkit_str k, v;
    size_t count = scimkit_response_header_count(r.resp);
    CHECK(count >= 1);
    CHECK_RC(scimkit_response_header(r.resp, count, &k, &v), SCIMKIT_RESULT_INVALID_PARAMETER);
    CHECK_RC(scimkit_response_header(r.resp, 0, NULL, &v), SCIMKIT_RESULT_NULL_PARAMETER);
    CHECK_RC(scimkit_response_header(NULL, 0, &k, &v), SCIMKIT_RESULT_NULL_PARAMETER);
    const uint8_t *body = NULL;
    size_t len = 0;
    CHECK_RC(scimkit_response_body(NULL, &body, &len), SCIMKIT_RESULT_NULL_PARAMETER);
    CHECK_RC(scimkit_response_body(r.resp, NULL, &len), SCIMKIT_RESULT_NULL_PARAMETER);
    CHECK(scimkit_response_status(NULL) == 0);
    CHECK(scimkit_response_header_count(NULL) == 0);
    scimkit_response_free(NULL);
    scimkit_str ct = response_header(r.resp, "content-type");
    CHECK(ct.len == 21 && memcmp(ct.data, "application/scim+json", 21) == 0);
    reply_free(&r);

    scimkit_server_free(server);
    scimkit_server_free(NULL);
}

static void test_limits(void) {
    scimkit_config_builder *b = scimkit_config_builder_new();
    scimkit_server *server = NULL;
    CHECK_RC(scimkit_config_builder_set_store(b, "memory", 6), SCIMKIT_RESULT_OK);
    CHECK_RC(scimkit_config_builder_add_token(b, TOKEN, strlen(TOKEN), "contoso", 7),
             SCIMKIT_RESULT_OK);
    CHECK_RC(scimkit_config_builder_set_base_path(b, "/api/scim/", 10), SCIMKIT_RESULT_OK);
    CHECK_RC(scimkit_config_builder_set_base_url(b, "https://app.example.com/api/scim", 32),
             SCIMKIT_RESULT_OK);
    CHECK_RC(scimkit_config_builder_set_max_body_size(b, 64), SCIMKIT_RESULT_OK);
    CHECK_RC(scimkit_config_builder_set_max_results(b, 2), SCIMKIT_RESULT_OK);
    CHECK_RC(scimkit_config_builder_build(b, &server), SCIMKIT_RESULT_OK);
    scimkit_config_builder_free(b);

    reply r = request(server, "POST", "/api/scim/Users", TOKEN,
                      "{\"schemas\":[\"" USER_SCHEMA "\"],\"userName\":\"a-rather-long-user-"
                      "name@contoso.com\"}");
    CHECK(r.status == 413);
    reply_free(&r);
    r = request(server, "POST", "/api/scim/Users", TOKEN, "{\"userName\":\"a\"}");
    CHECK(r.status == 201);
    CHECK(contains(r.body, "https://app.example.com/api/scim/Users/"));
    reply_free(&r);
    r = request(server, "GET", "/scim/v2/Users", TOKEN, NULL);
    CHECK(r.status == 404); /* the default base path is not served */
    reply_free(&r);
    r = request(server, "GET", "/api/scim/ServiceProviderConfig", NULL, NULL);
    CHECK(r.status == 200 && contains(r.body, "\"maxResults\":2"));
    reply_free(&r);
    scimkit_server_free(server);
}

/* An Entra ID provisioning cycle, on either store. */
static void entra_flow(scimkit_server *server) {
    char uid[128], uid2[128], gid[128], target[512];

    /* Test connection: a filter on a non-existent user. */
    reply r = request(server, "GET",
                      "/scim/v2/Users?filter=userName+eq+%22probe-1b2e%40contoso.com%22", TOKEN,
                      NULL);
    CHECK(r.status == 200 && contains(r.body, "\"totalResults\":0"));
    reply_free(&r);
    r = request(server, "GET", "/scim/v2/Users", NULL, NULL);
    CHECK(r.status == 401);
    CHECK(response_header(r.resp, "www-authenticate").len > 0);
    reply_free(&r);
    r = request(server, "GET", "/scim/v2/Users", "wrong-token", NULL);
    CHECK(r.status == 401);
    reply_free(&r);

    /* Create. */
    r = request(server, "POST", "/scim/v2/Users", TOKEN,
                "{\"schemas\":[\"" USER_SCHEMA
                "\",\"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User\"],"
                "\"externalId\":\"0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef\","
                "\"userName\":\"Test_User_ab6490ee@contoso.com\",\"active\":true,"
                "\"displayName\":\"Test User\",\"emails\":[{\"primary\":true,\"type\":\"work\","
                "\"value\":\"Test_User_ab6490ee@contoso.com\"}],\"name\":{\"formatted\":"
                "\"Test User\",\"familyName\":\"User\",\"givenName\":\"Test\"},"
                "\"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User\":"
                "{\"department\":\"Engineering\"}}");
    CHECK(r.status == 201);
    CHECK(json_id(r.body, uid, sizeof uid));
    CHECK(response_header(r.resp, "location").len > 0);
    CHECK(response_header(r.resp, "etag").len > 0);
    reply_free(&r);
    r = request(server, "POST", "/scim/v2/Users", TOKEN,
                "{\"schemas\":[\"" USER_SCHEMA "\"],\"userName\":\"second@contoso.com\"}");
    CHECK(r.status == 201 && json_id(r.body, uid2, sizeof uid2));
    reply_free(&r);

    /* Uniqueness is case-insensitive. */
    r = request(server, "POST", "/scim/v2/Users", TOKEN,
                "{\"schemas\":[\"" USER_SCHEMA
                "\"],\"userName\":\"test_user_AB6490EE@contoso.com\"}");
    CHECK(r.status == 409 && contains(r.body, "uniqueness"));
    reply_free(&r);

    /* Filter by userName (case-insensitive) and by externalId. */
    r = request(server, "GET",
                "/scim/v2/Users?filter=userName%20eq%20%22test_user_ab6490ee%40contoso.com%22",
                TOKEN, NULL);
    CHECK(r.status == 200 && contains(r.body, "\"totalResults\":1") && contains(r.body, uid));
    reply_free(&r);
    r = request(server, "GET",
                "/scim/v2/Users?filter=externalId+eq+%220a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef%22",
                TOKEN, NULL);
    CHECK(r.status == 200 && contains(r.body, "\"totalResults\":1"));
    reply_free(&r);

    /* PATCH in Entra's dialect: capitalised ops, "False" as a string. */
    snprintf(target, sizeof target, "/scim/v2/Users/%s", uid);
    r = request(server, "PATCH", target, TOKEN,
                "{\"schemas\":[\"" PATCH_SCHEMA "\"],\"Operations\":["
                "{\"op\":\"Replace\",\"path\":\"active\",\"value\":\"False\"},"
                "{\"op\":\"Add\",\"path\":\"emails[type eq \\\"work\\\"].value\","
                "\"value\":\"updated@contoso.com\"},"
                "{\"op\":\"Replace\",\"value\":{\"displayName\":\"Updated Name\"}}]}");
    CHECK(r.status == 200);
    CHECK(contains(r.body, "\"active\":false"));
    CHECK(contains(r.body, "updated@contoso.com"));
    CHECK(contains(r.body, "Updated Name"));
    reply_free(&r);

    /* Groups: create, add members, remove one, read. */
    r = request(server, "POST", "/scim/v2/Groups", TOKEN,
                "{\"schemas\":[\"" GROUP_SCHEMA "\"],\"displayName\":\"Engineering\","
                "\"externalId\":\"8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159\"}");
    CHECK(r.status == 201 && json_id(r.body, gid, sizeof gid));
    reply_free(&r);
    snprintf(target, sizeof target, "/scim/v2/Groups/%s", gid);
    char body[1024];
    snprintf(body, sizeof body,
             "{\"schemas\":[\"" PATCH_SCHEMA "\"],\"Operations\":[{\"op\":\"Add\","
             "\"path\":\"members\",\"value\":[{\"value\":\"%s\"},{\"value\":\"%s\"}]}]}",
             uid, uid2);
    r = request(server, "PATCH", target, TOKEN, body);
    CHECK(r.status == 200 || r.status == 204);
    reply_free(&r);
    snprintf(body, sizeof body,
             "{\"schemas\":[\"" PATCH_SCHEMA "\"],\"Operations\":[{\"op\":\"Remove\","
             "\"path\":\"members[value eq \\\"%s\\\"]\"}]}",
             uid2);
    r = request(server, "PATCH", target, TOKEN, body);
    CHECK(r.status == 200 || r.status == 204);
    reply_free(&r);
    r = request(server, "GET", target, TOKEN, NULL);
    CHECK(r.status == 200 && contains(r.body, uid) && !contains(r.body, uid2));
    reply_free(&r);
    char filter[512];
    snprintf(filter, sizeof filter, "/scim/v2/Groups?filter=members%%5Bvalue%%20eq%%20%%22%s%%22%%5D", uid);
    r = request(server, "GET", filter, TOKEN, NULL);
    CHECK(r.status == 200 && contains(r.body, "\"totalResults\":1"));
    reply_free(&r);

    /* Delete the user: gone, and gone from the group. */
    snprintf(target, sizeof target, "/scim/v2/Users/%s", uid);
    r = request(server, "DELETE", target, TOKEN, NULL);
    CHECK(r.status == 204 && r.body_len == 0);
    reply_free(&r);
    r = request(server, "GET", target, TOKEN, NULL);
    CHECK(r.status == 404);
    reply_free(&r);
    snprintf(target, sizeof target, "/scim/v2/Groups/%s", gid);
    r = request(server, "GET", target, TOKEN, NULL);
    CHECK(r.status == 200 && !contains(r.body, uid));
    reply_free(&r);
    r = request(server, "DELETE", target, TOKEN, NULL);
    CHECK(r.status == 204);
    reply_free(&r);
}

static void test_entra_flow_memory(void) {
    scimkit_server *server = make_server("memory", NULL);
    entra_flow(server);
    scimkit_server_free(server);
}

static void test_entra_flow_c_store(void) {
    long live = teststore_live_count();
    teststore *ts = NULL;
    scimkit_server *server = make_server(NULL, &ts);
    entra_flow(server);
    /* The C store declined every filter; the engine evaluated them. */
    CHECK(teststore_unsupported_count(ts) >= 4);
    scimkit_server_free(server);
    CHECK(teststore_live_count() == live); /* free_userdata ran */
}

/* Callbacks that return garbage: SCIM 500/503 responses, never a crash. */
static void test_garbage_callbacks(void) {
    teststore *ts = NULL;
    scimkit_server *server = make_server(NULL, &ts);
    char uid[128], target[256];
    reply r = request(server, "POST", "/scim/v2/Users", TOKEN,
                      "{\"schemas\":[\"" USER_SCHEMA "\"],\"userName\":\"g@contoso.com\"}");
    CHECK(r.status == 201 && json_id(r.body, uid, sizeof uid));
    reply_free(&r);
    snprintf(target, sizeof target, "/scim/v2/Users/%s", uid);

    teststore_set_mode(ts, TESTSTORE_GARBAGE_JSON);
    r = request(server, "GET", target, TOKEN, NULL);
    CHECK(r.rc == SCIMKIT_RESULT_OK && r.status == 500);
    CHECK(contains(r.body, "internal server error") && !contains(r.body, "not json"));
    reply_free(&r);
    r = request(server, "GET", "/scim/v2/Users", TOKEN, NULL);
    CHECK(r.status == 500);
    reply_free(&r);

    teststore_set_mode(ts, TESTSTORE_BAD_STATUS);
    r = request(server, "GET", target, TOKEN, NULL);
    CHECK(r.status == 500);
    reply_free(&r);
    r = request(server, "POST", "/scim/v2/Users", TOKEN,
                "{\"schemas\":[\"" USER_SCHEMA "\"],\"userName\":\"h@contoso.com\"}");
    CHECK(r.status == 500);
    reply_free(&r);
    r = request(server, "DELETE", target, TOKEN, NULL);
    CHECK(r.status == 500);
    reply_free(&r);

    teststore_set_mode(ts, TESTSTORE_NO_OUTPUT);
    r = request(server, "GET", target, TOKEN, NULL);
    CHECK(r.status == 500);
    reply_free(&r);

    teststore_set_mode(ts, TESTSTORE_NO_VERSION);
    r = request(server, "POST", "/scim/v2/Users", TOKEN,
                "{\"schemas\":[\"" USER_SCHEMA "\"],\"userName\":\"i@contoso.com\"}");
    CHECK(r.status == 500);
    reply_free(&r);

    teststore_set_mode(ts, TESTSTORE_UNAVAILABLE);
    r = request(server, "GET", target, TOKEN, NULL);
    CHECK(r.status == 503);
    CHECK(response_header(r.resp, "retry-after").len > 0);
    reply_free(&r);

    teststore_set_mode(ts, TESTSTORE_NORMAL);
    r = request(server, "GET", target, TOKEN, NULL);
    CHECK(r.status == 200);
    reply_free(&r);
    scimkit_server_free(server);
}

/* The SQLite store, selected by configuration: the Entra flow, data kept
 * across servers on the same file, and open failures. */
static void test_sqlite_store(void) {
    char dir_template[] = "/tmp/scimkit-c-test-XXXXXX";
    char *dir = mkdtemp(dir_template);
    CHECK(dir != NULL);
    if (!dir) {
        return;
    }
    char spec[600], path[512], uid[128], target[256];
    snprintf(path, sizeof path, "%s/scim.db", dir);
    snprintf(spec, sizeof spec, "sqlite:%s", path);

    scimkit_server *server = make_server(spec, NULL);
    entra_flow(server);
    reply r = request(server, "POST", "/scim/v2/Users", TOKEN,
                      "{\"schemas\":[\"" USER_SCHEMA "\"],\"userName\":\"kept@contoso.com\"}");
    CHECK(r.status == 201 && json_id(r.body, uid, sizeof uid));
    reply_free(&r);
    scimkit_server_free(server);

    /* A new server on the same file sees the data. */
    server = make_server(spec, NULL);
    snprintf(target, sizeof target, "/scim/v2/Users/%s", uid);
    r = request(server, "GET", target, TOKEN, NULL);
    CHECK(r.status == 200 && contains(r.body, "kept@contoso.com"));
    reply_free(&r);
    scimkit_server_free(server);

    /* Open failures are reported by _build, with the reason. */
    scimkit_config_builder *b = scimkit_config_builder_new();
    char msg[512];
    size_t n = 0;
    scimkit_server *none = NULL;
    CHECK_RC(scimkit_config_builder_set_store(b, "sqlite:", 7), SCIMKIT_RESULT_INVALID_CONFIG);
    snprintf(spec, sizeof spec, "sqlite:%s/no/such/dir/x.db", dir);
    CHECK_RC(scimkit_config_builder_set_store(b, spec, strlen(spec)), SCIMKIT_RESULT_OK);
    CHECK_RC(scimkit_config_builder_add_token(b, "t", 1, "x", 1), SCIMKIT_RESULT_OK);
    CHECK_RC(scimkit_config_builder_build(b, &none), SCIMKIT_RESULT_STORE_OPEN_FAILED);
    CHECK(none == NULL);
    CHECK_RC(scimkit_config_builder_error_message(b, msg, sizeof msg, &n), SCIMKIT_RESULT_OK);
    CHECK(n > 0 && memmem(msg, n, "does not exist", 14) != NULL);
    scimkit_config_builder_free(b);
    /* A file that is not a database is refused and left alone. */
    snprintf(path, sizeof path, "%s/notes.txt", dir);
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    if (f) {
        fputs("not a database, but long enough to have a header: 0123456789abcdef0123456789\n", f);
        fclose(f);
    }
    b = scimkit_config_builder_new();
    snprintf(spec, sizeof spec, "sqlite:%s", path);
    CHECK_RC(scimkit_config_builder_set_store(b, spec, strlen(spec)), SCIMKIT_RESULT_OK);
    CHECK_RC(scimkit_config_builder_add_token(b, "t", 1, "x", 1), SCIMKIT_RESULT_OK);
    CHECK_RC(scimkit_config_builder_build(b, &none), SCIMKIT_RESULT_STORE_OPEN_FAILED);
    scimkit_config_builder_free(b);

    const char *files[] = {"scim.db", "scim.db-wal", "scim.db-shm", "notes.txt"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, files[i]);
        unlink(path);
    }
    CHECK(rmdir(dir) == 0);
}

/* The number of threads of this process (Linux), or -1. */
static int thread_count(void) {
    FILE *f = fopen("/proc/self/status", "r");
    if (!f) {
        return -1;
    }
    char line[256];
    int n = -1;
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "Threads:", 8) == 0) {
            n = atoi(line + 8);
            break;
        }
    }
    fclose(f);
    return n;
}

/* Whether to run the SQLite tests: SCIMKIT_TEST_SQLITE=0 skips them. */
static bool sqlite_enabled(void) {
    const char *v = getenv("SCIMKIT_TEST_SQLITE");
    return !(v && strcmp(v, "0") == 0);
}

/* No thread scimkit started outlives the servers: wait (bounded, threads may
 * end asynchronously) until only this thread is left. */
static void test_no_thread_outlives_its_server(void) {
    int n = thread_count();
    for (int i = 0; i < 200 && n > 1; i++) {
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
        n = thread_count();
    }
    CHECK(n == 1 || n == -1);
}

/* ===== provisioning policies, review queue and the provisioning log ===== */

/* An admin operation's reply (body copied, NUL-terminated). */
static reply admin(const scimkit_server *server, const char *json) {
    reply r = {0};
    scimkit_response *resp = NULL;
    CHECK_RC(scimkit_server_admin(server, json, strlen(json), &resp), SCIMKIT_RESULT_OK);
    CHECK(resp != NULL);
    if (resp) {
        const uint8_t *body = NULL;
        size_t body_len = 0;
        r.status = scimkit_response_status(resp);
        CHECK_RC(scimkit_response_body(resp, &body, &body_len), SCIMKIT_RESULT_OK);
        r.body = calloc(body_len + 1, 1);
        if (r.body && body_len) {
            memcpy(r.body, body, body_len);
        }
        scimkit_response_free(resp);
    }
    return r;
}

static void test_policies(void) {
    scimkit_config_builder *b = scimkit_config_builder_new();
    scimkit_server *server = NULL;
    const char *review = "{\"deletion\":\"review\",\"groups\":\"refuse\"}";
    const char *bad = "{\"deletion\":\"later\"}";
    const char *off = "{\"enabled\":false}";
    CHECK_RC(scimkit_config_builder_set_store(b, "memory", 6), SCIMKIT_RESULT_OK);
    CHECK_RC(scimkit_config_builder_add_token(b, TOKEN, strlen(TOKEN), "contoso", 7),
             SCIMKIT_RESULT_OK);
    CHECK_RC(scimkit_config_builder_add_token(b, "off-token", 9, "paused", 6), SCIMKIT_RESULT_OK);
    CHECK_RC(scimkit_config_builder_set_policies(b, NULL, 0, bad, strlen(bad)),
             SCIMKIT_RESULT_INVALID_PARAMETER);
    CHECK_RC(scimkit_config_builder_set_policies(b, NULL, 0, "{", 1), SCIMKIT_RESULT_INVALID_JSON);
    CHECK_RC(scimkit_config_builder_set_policies(b, NULL, 0, review, strlen(review)),
             SCIMKIT_RESULT_OK);
    CHECK_RC(scimkit_config_builder_set_policies(b, "paused", 6, off, strlen(off)),
             SCIMKIT_RESULT_OK);
    CHECK_RC(scimkit_config_builder_enable_log(b, 0), SCIMKIT_RESULT_INVALID_PARAMETER);
    CHECK_RC(scimkit_config_builder_enable_log(b, 1000), SCIMKIT_RESULT_OK);
    CHECK_RC(scimkit_config_builder_build(b, &server), SCIMKIT_RESULT_OK);
    scimkit_config_builder_free(b);

    char uid[128], target[256], op[512];
    reply r = request(server, "POST", "/scim/v2/Users", TOKEN, "{\"userName\":\"queued@contoso.com\"}");
    CHECK(r.status == 201 && json_id(r.body, uid, sizeof uid));
    reply_free(&r);
    snprintf(target, sizeof target, "/scim/v2/Users/%s", uid);
    r = request(server, "DELETE", target, TOKEN, NULL);
    CHECK(r.status == 204);
    reply_free(&r);
    r = request(server, "GET", target, TOKEN, NULL);
    CHECK(r.status == 404); /* hidden from SCIM clients, kept for review */
    reply_free(&r);
    r = request(server, "POST", "/scim/v2/Groups", TOKEN, "{\"displayName\":\"G\"}");
    CHECK(r.status == 403); /* groups refused by policy */
    reply_free(&r);
    r = request(server, "GET", "/scim/v2/Users", "off-token", NULL);
    CHECK(r.status == 403); /* provisioning disabled for tenant "paused" */
    reply_free(&r);

    r = admin(server, "{\"op\":\"hidden_users\",\"tenant\":\"contoso\",\"state\":\"review\"}");
    CHECK(r.status == 200 && contains(r.body, "queued@contoso.com"));
    reply_free(&r);
    snprintf(op, sizeof op, "{\"op\":\"approve_deletion\",\"tenant\":\"contoso\",\"id\":\"%s\"}", uid);
    r = admin(server, op);
    CHECK(r.status == 200);
    reply_free(&r);
    r = admin(server, op);
    CHECK(r.status == 404); /* already approved */
    reply_free(&r);
    r = admin(server, "{\"op\":\"hidden_users\",\"tenant\":\"contoso\"}");
    CHECK(r.status == 200 && !contains(r.body, "queued@contoso.com"));
    reply_free(&r);
    r = admin(server, "{\"op\":\"log\",\"tenant\":\"contoso\"}");
    CHECK(r.status == 200 && contains(r.body, "\"operation\":\"delete\"") &&
          contains(r.body, "\"operation\":\"approve_deletion\""));
    reply_free(&r);
    r = admin(server, "{\"op\":\"teleport\"}");
    CHECK(r.status == 400);
    reply_free(&r);
    r = admin(server, "not json");
    CHECK(r.status == 400);
    reply_free(&r);
    scimkit_server_free(server);
}

/* ===== events ===== */

typedef struct event_log {
    pthread_mutex_t lock;
    int count;
    char kinds[64][32];
    char last_id[128];
} event_log;

static void on_event(void *userdata, const uint8_t *json, size_t len) {
    event_log *log = userdata;
    char text[2048];
    size_t n = len < sizeof text - 1 ? len : sizeof text - 1;
    memcpy(text, json, n);
    text[n] = '\0';
    pthread_mutex_lock(&log->lock);
    const char *k = strstr(text, "\"kind\":\"");
    if (k && log->count < 64) {
        k += 8;
        size_t i = 0;
        while (k[i] && k[i] != '"' && i < 31) {
            log->kinds[log->count][i] = k[i];
            i++;
        }
        log->kinds[log->count][i] = '\0';
    }
    json_id(text, log->last_id, sizeof log->last_id);
    log->count++;
    pthread_mutex_unlock(&log->lock);
}

static bool saw(event_log *log, const char *kind) {
    bool found = false;
    pthread_mutex_lock(&log->lock);
    for (int i = 0; i < log->count && i < 64; i++) {
        found = found || strcmp(log->kinds[i], kind) == 0;
    }
    pthread_mutex_unlock(&log->lock);
    return found;
}

static int event_count(event_log *log) {
    pthread_mutex_lock(&log->lock);
    int n = log->count;
    pthread_mutex_unlock(&log->lock);
    return n;
}

static void test_events(void) {
    event_log log;
    memset(&log, 0, sizeof log);
    pthread_mutex_init(&log.lock, NULL);

    scimkit_config_builder *b = scimkit_config_builder_new();
    CHECK_RC(scimkit_config_builder_set_event_callback(b, NULL, &log),
             SCIMKIT_RESULT_NULL_PARAMETER);
    CHECK_RC(scimkit_config_builder_set_event_callback(NULL, on_event, &log),
             SCIMKIT_RESULT_NULL_PARAMETER);
    CHECK_RC(scimkit_config_builder_set_event_callback(b, on_event, &log), SCIMKIT_RESULT_OK);
    CHECK_RC(scimkit_config_builder_set_store(b, "memory", 6), SCIMKIT_RESULT_OK);
    CHECK_RC(scimkit_config_builder_add_token(b, TOKEN, strlen(TOKEN), "contoso", 7),
             SCIMKIT_RESULT_OK);
    scimkit_server *server = NULL;
    CHECK_RC(scimkit_config_builder_build(b, &server), SCIMKIT_RESULT_OK);
    scimkit_config_builder_free(b);

    char uid[128], gid[128], target[256], body[512];
    reply r = request(server, "POST", "/scim/v2/Users", TOKEN,
                      "{\"schemas\":[\"" USER_SCHEMA "\"],\"userName\":\"ev@contoso.com\"}");
    CHECK(r.status == 201 && json_id(r.body, uid, sizeof uid));
    reply_free(&r);
    snprintf(target, sizeof target, "/scim/v2/Users/%s", uid);
    r = request(server, "PATCH", target, TOKEN,
                "{\"schemas\":[\"" PATCH_SCHEMA "\"],\"Operations\":[{\"op\":\"Replace\","
                "\"path\":\"active\",\"value\":\"False\"}]}");
    CHECK(r.status == 200);
    reply_free(&r);
    r = request(server, "POST", "/scim/v2/Groups", TOKEN,
                "{\"schemas\":[\"" GROUP_SCHEMA "\"],\"displayName\":\"Ev\"}");
    CHECK(r.status == 201 && json_id(r.body, gid, sizeof gid));
    reply_free(&r);
    snprintf(target, sizeof target, "/scim/v2/Groups/%s", gid);
    snprintf(body, sizeof body,
             "{\"schemas\":[\"" PATCH_SCHEMA "\"],\"Operations\":[{\"op\":\"Add\","
             "\"path\":\"members\",\"value\":[{\"value\":\"%s\"}]}]}",
             uid);
    r = request(server, "PATCH", target, TOKEN, body);
    CHECK(r.status == 200 || r.status == 204);
    reply_free(&r);
    snprintf(target, sizeof target, "/scim/v2/Users/%s", uid);
    r = request(server, "DELETE", target, TOKEN, NULL);
    CHECK(r.status == 204);
    reply_free(&r);

    /* Delivery is asynchronous: wait (bounded) for the last one. */
    for (int i = 0; i < 500 && !saw(&log, "deleted"); i++) {
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    CHECK(saw(&log, "created"));
    CHECK(saw(&log, "deactivated"));
    CHECK(saw(&log, "members_added"));
    CHECK(saw(&log, "deleted"));
    scimkit_server_free(server);
    /* Never called after scimkit_server_free returned. */
    int after_free = event_count(&log);
    struct timespec ts = {0, 50 * 1000 * 1000};
    nanosleep(&ts, NULL);
    CHECK(event_count(&log) == after_free);
    pthread_mutex_destroy(&log.lock);
}

/* A response outlives its server. */
static void test_response_outlives_server(void) {
    scimkit_server *server = make_server("memory", NULL);
    reply r = request(server, "GET", "/scim/v2/Schemas", NULL, NULL);
    scimkit_server_free(server);
    const uint8_t *body = NULL;
    size_t len = 0;
    CHECK_RC(scimkit_response_body(r.resp, &body, &len), SCIMKIT_RESULT_OK);
    CHECK(len > 100 && body != NULL && body[0] == '{');
    reply_free(&r);
}

/* ===== PostgreSQL that cannot be opened (no server needed) ===== */

/* Build a server on `url`: the result code, *server_out, and the message. */
static scimkit_result build_on(const char *url, char *msg, size_t cap, size_t *n) {
    scimkit_config_builder *b = scimkit_config_builder_new();
    scimkit_server *server = (scimkit_server *)(uintptr_t)1;
    CHECK_RC(scimkit_config_builder_add_token(b, TOKEN, strlen(TOKEN), "contoso", 7),
             SCIMKIT_RESULT_OK);
    CHECK_RC(scimkit_config_builder_set_store(b, url, strlen(url)), SCIMKIT_RESULT_OK);
    scimkit_result rc = scimkit_config_builder_build(b, &server);
    CHECK(server == NULL);
    *n = 0;
    CHECK_RC(scimkit_config_builder_error_message(b, msg, cap, n), SCIMKIT_RESULT_OK);
    CHECK(*n < cap);
    msg[*n < cap ? *n : cap - 1] = '\0';
    scimkit_server_free(server);
    scimkit_config_builder_free(b);
    return rc;
}

static void test_postgres_unreachable(void) {
    char msg[1024];
    size_t n = 0;
    /* Nothing listens on loopback port 1: refused at once (connect_timeout bounds it). */
    scimkit_result rc = build_on(
        "postgresql://scim:hunter2-secret@127.0.0.1:1/scim?connect_timeout=5", msg, sizeof msg, &n);
    CHECK_RC(rc, SCIMKIT_RESULT_STORE_OPEN_FAILED);
    CHECK(strstr(msg, "cannot open the PostgreSQL store at postgresql://scim@127.0.0.1:1/scim: "
                      "the server is unreachable") == msg);
    CHECK(strstr(msg, "hunter2") == NULL);
    if (strstr(msg, "hunter2") != NULL || rc != SCIMKIT_RESULT_STORE_OPEN_FAILED) {
        fprintf(stderr, "message: %s\n", msg);
    }

    /* A URL that does not parse: INVALID_CONFIG, still without the password. */
    rc = build_on("postgresql://scim:hunter2-secret@127.0.0.1:notaport/scim", msg, sizeof msg, &n);
    CHECK_RC(rc, SCIMKIT_RESULT_INVALID_CONFIG);
    CHECK(strstr(msg, "invalid connection string") != NULL);
    CHECK(strstr(msg, "hunter2") == NULL);
}

int main(void) {
    test_version_and_messages();
    test_builder_misuse();
    test_vtable_misuse();
    test_handle_misuse();
    test_limits();
    test_entra_flow_memory();
    test_entra_flow_c_store();
    test_garbage_callbacks();
    test_events();
    test_policies();
    bool sqlite = sqlite_enabled();
    if (sqlite) {
        test_sqlite_store();
    }
    test_postgres_unreachable();
    test_response_outlives_server();
    test_no_thread_outlives_its_server();
    CHECK(teststore_live_count() == 0);
    return TEST_SUMMARY();
}
