//! Provisioning events (created, deactivated, deleted, …) as structured log
//! lines: kind, tenant, resource type, id and name — never a body.

use scimkit::Event;

/// The engine's event handler: one `info` line per event under the
/// `scimkit::events` target (filter with `--log scimkit::events=info`).
pub(crate) fn log_event(e: &Event) {
    tracing::info!(
        target: "scimkit::events",
        kind = e.kind.as_str(),
        tenant = %e.tenant,
        resource_type = e.resource_type.as_str(),
        id = %e.id,
        name = e.name.as_deref().unwrap_or(""),
        changed = %e.changed.join(","),
        members = e.members.len(),
        request_id = %e.request_id,
        "provisioning event"
    );
}
