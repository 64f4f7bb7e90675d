// header_cxx.cpp: include/scimkit.h compiles as C++ (g++ -Wall -Wextra -Werror
// -pedantic) and links; one request through a server from C++. Prints
// "N passed, N failed".
#include <cstdio>
#include <cstring>
#include <string>

#include "scimkit.h"

static int passed = 0, failed = 0;

static void check(bool ok, const char *what) {
    if (ok) {
        passed++;
    } else {
        failed++;
        std::fprintf(stderr, "FAILED: %s\n", what);
    }
}

int main() {
    // The enums are real C++ enums with a fixed underlying type.
    static_assert(sizeof(scimkit_result) == sizeof(uint32_t), "scimkit_result is 32 bits");
    scimkit_str v = scimkit_version();
    check(std::string(v.data, v.len).rfind("scimkit/", 0) == 0, "version");

    scimkit_config_builder *b = scimkit_config_builder_new();
    check(scimkit_config_builder_set_store(b, "memory", 6) == SCIMKIT_RESULT_OK, "store");
    check(scimkit_config_builder_add_token(b, "t", 1, "tenant", 6) == SCIMKIT_RESULT_OK, "token");
    scimkit_server *server = nullptr;
    check(scimkit_config_builder_build(b, &server) == SCIMKIT_RESULT_OK, "build");
    scimkit_config_builder_free(b);

    const scimkit_header headers[] = {{{"Authorization", 13}, {"Bearer t", 8}}};
    scimkit_response *resp = nullptr;
    const std::string target = "/scim/v2/Users";
    check(scimkit_server_handle(server, "GET", 3, target.data(), target.size(), headers, 1,
                                nullptr, 0, &resp) == SCIMKIT_RESULT_OK,
          "handle");
    check(scimkit_response_status(resp) == 200, "status 200");
    const uint8_t *body = nullptr;
    size_t len = 0;
    check(scimkit_response_body(resp, &body, &len) == SCIMKIT_RESULT_OK && len > 0, "body");
    scimkit_response_free(resp);
    scimkit_server_free(server);

    scimkit_store_vtable vt = {};
    check(vt.create == nullptr && vt.flags == 0, "vtable is a plain struct");
    std::printf("%d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
