// SCIMMY (https://github.com/scimmyjs/scimmy) and its Express routers with an
// in-memory store, written the way their READMEs show: one ingress / egress /
// degress handler per resource type. A peer in scimkit's HTTP benchmark.
//
//   node server.mjs --listen 127.0.0.1:PORT --token TOKEN
import crypto from "node:crypto";
import express from "express";
import SCIMMY from "scimmy";
import SCIMMYRouters from "scimmy-routers";

const arg = (name, dflt) => {
    const i = process.argv.indexOf(name);
    return i >= 0 ? process.argv[i + 1] : dflt;
};
const [host, port] = arg("--listen", "127.0.0.1:8092").split(":");
const token = arg("--token", "bench-token");
if (host !== "127.0.0.1" && host !== "localhost") throw new Error("loopback only");

// An in-memory store, one Map per resource type, plus the userName index a
// uniqueness check needs.
function store(kind, uniqueKey) {
    const items = new Map();
    const keys = new Map();
    const copy = (o) => JSON.parse(JSON.stringify(o));
    return {
        ingress(resource, data) {
            const now = new Date().toISOString();
            const key = uniqueKey?.(data);
            const taken = key !== undefined ? keys.get(key) : undefined;
            if (taken !== undefined && taken !== resource.id)
                throw new SCIMMY.Types.Error(409, "uniqueness", `${kind} is not unique`);
            if (resource.id) {
                const old = items.get(resource.id);
                if (!old) throw new SCIMMY.Types.Error(404, null, `Resource ${resource.id} not found`);
                const oldKey = uniqueKey?.(old);
                if (oldKey !== undefined && oldKey !== key) keys.delete(oldKey);
                const item = {...copy(data), id: resource.id, meta: {resourceType: kind, created: old.meta.created, lastModified: now}};
                items.set(resource.id, item);
                if (key !== undefined) keys.set(key, resource.id);
                return item;
            }
            const id = crypto.randomUUID();
            const item = {...copy(data), id, meta: {resourceType: kind, created: now, lastModified: now}};
            items.set(id, item);
            if (key !== undefined) keys.set(key, id);
            return item;
        },
        egress(resource) {
            if (resource.id) {
                const item = items.get(resource.id);
                if (!item) throw new SCIMMY.Types.Error(404, null, `Resource ${resource.id} not found`);
                return item;
            }
            const all = [...items.values()];
            return resource.filter ? resource.filter.match(all) : all;
        },
        degress(resource) {
            const item = items.get(resource.id);
            if (!item) throw new SCIMMY.Types.Error(404, null, `Resource ${resource.id} not found`);
            const key = uniqueKey?.(item);
            if (key !== undefined) keys.delete(key);
            items.delete(resource.id);
        },
    };
}

const users = store("User", (u) => u.userName?.toLowerCase());
const groups = store("Group");
SCIMMY.Resources.declare(SCIMMY.Resources.User)
    .extend(SCIMMY.Schemas.EnterpriseUser, false)
    .ingress((r, d) => users.ingress(r, d))
    .egress((r) => users.egress(r))
    .degress((r) => users.degress(r));
SCIMMY.Resources.declare(SCIMMY.Resources.Group)
    .ingress((r, d) => groups.ingress(r, d))
    .egress((r) => groups.egress(r))
    .degress((r) => groups.degress(r));

const app = express();
app.use("/scim/v2", new SCIMMYRouters({
    type: "bearer",
    handler: (request) => {
        if (request.header("Authorization") !== `Bearer ${token}`) throw new Error("Authorization not detected!");
        return "bench";
    },
}));
const server = app.listen(Number(port), host, () => console.log(`scimmy listening on ${host}:${port}`));
// The load generator keeps its connections open between phases.
server.keepAliveTimeout = 600_000;
server.headersTimeout = 601_000;
for (const sig of ["SIGTERM", "SIGINT"]) process.on(sig, () => process.exit(0));
