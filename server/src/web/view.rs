//! The admin page's HTML (maud escapes every interpolated value) and its SVG
//! charts. No JavaScript.

use maud::{DOCTYPE, Markup, html};
use scimkit::{LogEntry, Outcome, Policies};
use serde_json::Value;
use time::OffsetDateTime;

use crate::db::{NewToken, TenantRow, TokenRow};
use crate::policies::{PolicyOrigin, deletion_name, group_name, link_name};
use crate::provlog::Bucket;

/// The stylesheet, served at `/admin/static/admin.css`.
pub(crate) const CSS: &str = r#"
:root { --fg:#1d2330; --muted:#5b6475; --line:#d8dde6; --bg:#f6f7fa; --accent:#2557d6; --ok:#2e8b57; --bad:#c8372d; --warn:#b7791f; }
* { box-sizing: border-box; }
body { margin:0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color:var(--fg); background:var(--bg); }
header { background:#1d2330; color:#fff; padding:0 24px; display:flex; align-items:center; gap:24px; height:52px; }
header .brand { font-weight:700; letter-spacing:.3px; }
header nav a { color:#c9d2e3; text-decoration:none; margin-right:16px; }
header nav a.on, header nav a:hover { color:#fff; }
header form.inline { margin-left:auto; }
main { max-width:1180px; margin:24px auto; padding:0 24px; }
h1 { font-size:22px; margin:0 0 16px; }
h2 { font-size:17px; margin:24px 0 8px; }
.card { background:#fff; border:1px solid var(--line); border-radius:8px; padding:16px 18px; margin-bottom:18px; }
.card > h2:first-child { margin-top:0; }
.below { margin-top:12px; }
.scroll { overflow:auto; max-height:480px; }
table { border-collapse:collapse; width:100%; background:#fff; }
th, td { text-align:left; padding:6px 10px; border-bottom:1px solid var(--line); vertical-align:top; }
th { font-size:12px; text-transform:uppercase; color:var(--muted); letter-spacing:.4px; }
td.num { text-align:right; font-variant-numeric: tabular-nums; }
code, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size:12.5px; }
.muted { color:var(--muted); }
.ok { color:var(--ok); } .bad { color:var(--bad); } .warn { color:var(--warn); }
.pill { display:inline-block; padding:1px 8px; border-radius:10px; font-size:12px; border:1px solid var(--line); }
.pill.success { background:#e8f5ee; color:var(--ok); border-color:#b9e0c9; }
.pill.failure { background:#fbeceb; color:var(--bad); border-color:#f0c2bd; }
.pill.ignored { background:#f4f4f4; color:var(--muted); }
form.inline { display:inline; margin:0; }
button, .button { font:inherit; padding:5px 12px; border-radius:6px; border:1px solid var(--accent); background:var(--accent); color:#fff; cursor:pointer; text-decoration:none; display:inline-block; }
button.secondary, .button.secondary { background:#fff; color:var(--accent); }
button.danger { background:var(--bad); border-color:var(--bad); }
input, select { font:inherit; padding:5px 8px; border:1px solid var(--line); border-radius:6px; background:#fff; }
label { display:block; margin:10px 0 4px; font-weight:600; }
label.check { font-weight:normal; display:flex; gap:8px; align-items:center; }
.hint { color:var(--muted); font-size:12.5px; margin:2px 0 0; }
.filters { display:flex; gap:10px; align-items:flex-end; flex-wrap:wrap; }
.filters label { margin:0 0 4px; font-size:12px; }
.flash { background:#e8f0fe; border:1px solid #bcd0fb; padding:10px 14px; border-radius:8px; margin-bottom:16px; }
.error { background:#fbeceb; border:1px solid #f0c2bd; padding:10px 14px; border-radius:8px; margin-bottom:16px; }
.secret { font-size:15px; padding:10px; background:#fffbe6; border:1px dashed var(--warn); word-break:break-all; }
.pager { margin-top:12px; display:flex; gap:12px; align-items:center; }
.login { max-width:360px; margin:80px auto; }
.grid { display:grid; grid-template-columns: repeat(auto-fill, minmax(360px, 1fr)); gap:18px; }
svg text { font: 10px system-ui, sans-serif; fill: var(--muted); }
"#;

/// Which navigation entry is highlighted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Nav {
    Overview,
    Tokens,
    Log,
    Review,
    None,
}

/// The page frame: header, navigation, logout form (with the CSRF token).
/// No inline `style` attributes: the Content-Security-Policy forbids them.
pub(crate) fn layout(title: &str, nav: Nav, csrf: Option<&str>, body: Markup) -> Markup {
    let link = |href: &str, label: &str, this: Nav| {
        html! { a href=(href) class=[(nav == this).then_some("on")] { (label) } }
    };
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · scimkit admin" }
                link rel="stylesheet" href="/admin/static/admin.css";
            }
            body {
                header {
                    span.brand { "scimkit" }
                    @if let Some(csrf) = csrf {
                        nav {
                            (link("/admin", "Overview", Nav::Overview))
                            (link("/admin/tokens", "Tenants & tokens", Nav::Tokens))
                            (link("/admin/log", "Provisioning log", Nav::Log))
                            (link("/admin/review", "Review queue", Nav::Review))
                        }
                        form.inline method="post" action="/admin/logout" {
                            input type="hidden" name="csrf" value=(csrf);
                            button.secondary type="submit" { "Log out" }
                        }
                    }
                }
                main { (body) }
            }
        }
    }
}

/// The login form.
pub(crate) fn login(error: Option<&str>, no_password: bool) -> Markup {
    layout(
        "Log in",
        Nav::None,
        None,
        html! {
            div.login.card {
                h1 { "Admin login" }
                @if no_password {
                    div.error {
                        "No admin password is set. Set one with "
                        code { "scimkit admin set-password" }
                        " (or start the server once with "
                        code { "SCIMKIT_ADMIN_PASSWORD" } ")."
                    }
                }
                @if let Some(e) = error { div.error { (e) } }
                form method="post" action="/admin/login" {
                    label for="password" { "Password" }
                    input #password type="password" name="password" autocomplete="current-password" autofocus required;
                    p { button type="submit" { "Log in" } }
                }
                p.hint { "SCIM bearer tokens do not work here; this page has its own password." }
            }
        },
    )
}

/// A page with one message (errors, refusals).
pub(crate) fn message(title: &str, text: &str, csrf: Option<&str>) -> Markup {
    layout(
        title,
        Nav::None,
        csrf,
        html! {
            h1 { (title) }
            div.error { (text) }
            p { a href="/admin" { "Back to the overview" } }
        },
    )
}

fn flash(msg: Option<&str>) -> Markup {
    html! { @if let Some(m) = msg { div.flash role="status" { (m) } } }
}

fn outcome_pill(o: Outcome) -> Markup {
    html! { span class={"pill " (o.as_str())} { (o.as_str()) } }
}

fn pct(failures: u64, total: u64) -> String {
    if total == 0 {
        "–".to_owned()
    } else {
        format!("{:.1} %", failures as f64 * 100.0 / total as f64)
    }
}

/// The slots of a chart: the last 14 days or 48 hours, ending now.
pub(crate) fn slots(now: OffsetDateTime, hourly: bool) -> Vec<String> {
    let (n, step) = if hourly {
        (48, time::Duration::hours(1))
    } else {
        (14, time::Duration::days(1))
    };
    let len = if hourly { 13 } else { 10 };
    (0..n)
        .rev()
        .map(|i| {
            let t = now - step * i;
            scimkit::time::format(t)[..len].to_owned()
        })
        .collect()
}

/// The earliest time a chart covers (the start of its first slot).
pub(crate) fn chart_since(now: OffsetDateTime, hourly: bool) -> String {
    let first = slots(now, hourly).into_iter().next().unwrap_or_default();
    if hourly {
        format!("{first}:00:00.000Z")
    } else {
        format!("{first}T00:00:00.000Z")
    }
}

/// A bar chart of requests per slot: failures red at the bottom, the rest
/// green above; each bar has a tooltip.
pub(crate) fn chart(buckets: &[Bucket], slots: &[String], hourly: bool) -> Markup {
    let (bar, gap, h, top, bottom, left) = (14.0, 3.0, 110.0, 14.0, 18.0, 34.0);
    let max = buckets.iter().map(|b| b.total).max().unwrap_or(0).max(1);
    let width = left + slots.len() as f64 * (bar + gap) + 24.0;
    let plot = h - top - bottom;
    let find = |s: &str| buckets.iter().find(|b| b.start == s);
    let label = |s: &str| -> String {
        if hourly {
            format!("{}h", &s[11..13])
        } else {
            s[5..10].to_owned()
        }
    };
    html! {
        svg xmlns="http://www.w3.org/2000/svg" width=(width) height=(h)
            viewBox={"0 0 " (width) " " (h)} role="img"
            aria-label=(if hourly { "requests per hour" } else { "requests per day" }) {
            text x="0" y="10" { (max) }
            text x="0" y=(h - bottom) { "0" }
            line x1=(left - 2.0) y1=(top) x2=(left - 2.0) y2=(h - bottom) stroke="#d8dde6" {}
            @for (i, s) in slots.iter().enumerate() {
                @let x = left + i as f64 * (bar + gap);
                @let (total, failures) = find(s).map_or((0, 0), |b| (b.total, b.failures));
                @let th = plot * total as f64 / max as f64;
                @let fh = plot * failures as f64 / max as f64;
                g {
                    title { (s) ": " (total) " requests, " (failures) " failed" }
                    rect x=(x) y=(top) width=(bar) height=(plot) fill="#f1f3f7" {}
                    @if total > failures {
                        rect x=(x) y=(top + plot - th) width=(bar) height=(th - fh) fill="#3fa66b" {}
                    }
                    @if failures > 0 {
                        rect x=(x) y=(top + plot - fh) width=(bar) height=(fh) fill="#c8372d" {}
                    }
                }
                // Labels counted from the newest slot, so the last one always has one.
                @if (slots.len() - 1 - i) % (if hourly { 12 } else { 3 }) == 0 {
                    text x=(x) y=(h - 4.0) { (label(s)) }
                }
            }
        }
    }
}

/// One tenant on the overview.
#[derive(Debug)]
pub(crate) struct TenantSummary {
    pub(crate) name: String,
    pub(crate) users: Option<usize>,
    pub(crate) groups: Option<usize>,
    pub(crate) review: usize,
    pub(crate) total: u64,
    pub(crate) failures: u64,
    pub(crate) enabled: bool,
    pub(crate) buckets: Vec<Bucket>,
}

/// The overview: every tenant with counts, error rate and a chart.
pub(crate) fn overview(
    csrf: &str,
    tenants: &[TenantSummary],
    rejected: (u64, u64),
    slots: &[String],
    hourly: bool,
) -> Markup {
    let span = if hourly { "48 hours" } else { "14 days" };
    layout(
        "Overview",
        Nav::Overview,
        Some(csrf),
        html! {
            h1 { "Overview" }
            p.muted {
                "Requests that changed something (or were refused) per tenant, over the last " (span) ". "
                @if hourly { a href="/admin" { "Per day" } } @else { a href="/admin?by=hour" { "Per hour" } }
            }
            div.grid {
                @for t in tenants {
                    div.card {
                        h2 {
                            a href={"/admin/tenants/" (t.name)} { (t.name) }
                            @if !t.enabled { " " span.pill.failure { "provisioning disabled" } }
                        }
                        p {
                            a href={"/admin/tenants/" (t.name) "/users"} { (t.users.map_or("?".to_owned(), |n| n.to_string())) " users" }
                            " · "
                            a href={"/admin/tenants/" (t.name) "/groups"} { (t.groups.map_or("?".to_owned(), |n| n.to_string())) " groups" }
                            " · "
                            a href={"/admin/review?tenant=" (t.name)} class=[(t.review > 0).then_some("warn")] { (t.review) " awaiting review" }
                        }
                        p {
                            a href={"/admin/log?tenant=" (t.name)} { (t.total) " requests" }
                            ", "
                            a href={"/admin/log?tenant=" (t.name) "&outcome=failure"} class=[(t.failures > 0).then_some("bad")] { (t.failures) " failed" }
                            " (error rate " (pct(t.failures, t.total)) ")"
                        }
                        (chart(&t.buckets, slots, hourly))
                    }
                }
            }
            @if rejected.0 > 0 {
                p.bad { (rejected.0) " requests with an unknown token in the last " (span) ". "
                    a href="/admin/log?tenant=-" { "See them" } }
            }
        },
    )
}

/// Tenants and tokens, with the forms to create and revoke.
pub(crate) fn tokens(
    csrf: &str,
    tenants: &[TenantRow],
    tokens: &[TokenRow],
    created: Option<&NewToken>,
    tenant_url: &str,
    msg: Option<&str>,
) -> Markup {
    layout(
        "Tenants & tokens",
        Nav::Tokens,
        Some(csrf),
        html! {
            h1 { "Tenants & tokens" }
            (flash(msg))
            @if let Some(t) = created {
                div.card #new-token {
                    h2 { "Token " code { (t.id) } " for tenant " (t.tenant) }
                    p { "Copy it now: it is shown only this once (only its SHA-256 is stored)." }
                    p.secret.mono #token-secret { (t.secret) }
                    p { "In Entra: Provisioning → Admin Credentials. Tenant URL " code { (tenant_url) } ", Secret Token as above." }
                }
            }
            div.card {
                h2 { "Tenants" }
                table {
                    thead { tr { th { "Tenant" } th { "Created" } th.num { "Active tokens" } th {} } }
                    tbody {
                        @for t in tenants {
                            tr {
                                td { a href={"/admin/tenants/" (t.name)} { (t.name) } }
                                td.mono { (t.created) }
                                td.num { (t.active_tokens) }
                                td { a href={"/admin/tenants/" (t.name)} { "policies" } }
                            }
                        }
                    }
                }
                form.filters.below method="post" action="/admin/tenants" {
                    input type="hidden" name="csrf" value=(csrf);
                    div { label for="tenant-name" { "New tenant" } input #tenant-name name="name" placeholder="contoso" required; }
                    button type="submit" { "Create tenant" }
                }
            }
            div.card {
                h2 { "Tokens" }
                table #tokens {
                    thead { tr { th { "Id" } th { "Tenant" } th { "Label" } th { "Created" } th { "Revoked" } th {} } }
                    tbody {
                        @for t in tokens {
                            tr id={"token-" (t.id)} {
                                td.mono { (t.id) }
                                td { (t.tenant) }
                                td { (t.label.as_deref().unwrap_or("")) }
                                td.mono { (t.created) }
                                td.mono { @if let Some(r) = &t.revoked { span.bad { (r) } } @else { span.ok { "active" } } }
                                td {
                                    @if t.revoked.is_none() {
                                        form.inline method="post" action={"/admin/tokens/" (t.id) "/revoke"} {
                                            input type="hidden" name="csrf" value=(csrf);
                                            button.danger type="submit" name="revoke" value=(t.id) { "Revoke" }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
                form.filters.below method="post" action="/admin/tokens" {
                    input type="hidden" name="csrf" value=(csrf);
                    div { label for="token-tenant" { "Tenant" }
                        select #token-tenant name="tenant" {
                            @for t in tenants { option value=(t.name) { (t.name) } }
                        }
                    }
                    div { label for="token-label" { "Label" } input #token-label name="label" placeholder="Entra production"; }
                    button #create-token type="submit" { "Create token" }
                }
                p.hint { "A revoked token answers 401 from the next request on." }
            }
        },
    )
}

/// The log page's filters, as given.
#[derive(Debug, Default, Clone)]
pub(crate) struct LogFilters {
    pub(crate) tenant: String,
    pub(crate) user: String,
    pub(crate) resource_id: String,
    pub(crate) outcome: String,
    pub(crate) since: String,
    pub(crate) until: String,
}

impl LogFilters {
    /// The filters as a query string (for paging and export links).
    pub(crate) fn query_string(&self) -> String {
        let mut s = form_urlencoded::Serializer::new(String::new());
        for (k, v) in [
            ("tenant", &self.tenant),
            ("user", &self.user),
            ("id", &self.resource_id),
            ("outcome", &self.outcome),
            ("since", &self.since),
            ("until", &self.until),
        ] {
            if !v.is_empty() {
                s.append_pair(k, v);
            }
        }
        s.finish()
    }
}

/// Log entries as a table.
pub(crate) fn log_table(entries: &[LogEntry]) -> Markup {
    html! {
        table #log {
            thead { tr { th { "Time (UTC)" } th { "Tenant" } th { "Request" } th { "Resource" } th.num { "Status" } th { "Outcome" } th { "Detail" } } }
            tbody {
                @for e in entries {
                    tr {
                        td.mono { (e.time) }
                        td { @if e.tenant.is_empty() { span.muted { "(unknown token)" } } @else { (e.tenant) } }
                        td { span.mono { (e.method) " " (e.path) } br; span.muted { (e.operation) " · token " (if e.token_id.is_empty() { "–" } else { e.token_id.as_str() }) } }
                        td {
                            @if let (Some(id), false) = (&e.resource_id, e.tenant.is_empty()) {
                                @let kind = if e.resource_type == Some(scimkit::ResourceKind::Group) { "groups" } else { "users" };
                                a href={"/admin/tenants/" (e.tenant) "/" (kind) "/" (id)} { (e.name.as_deref().unwrap_or(id)) }
                            } @else if let Some(n) = &e.name { (n) }
                        }
                        td.num.status { (e.status) }
                        td { (outcome_pill(e.outcome)) }
                        td { @if let Some(t) = &e.scim_type { code { (t) } " " } (e.detail.as_deref().unwrap_or("")) }
                    }
                }
            }
        }
    }
}

/// The provisioning log with filters and paging.
#[allow(clippy::too_many_arguments)]
pub(crate) fn log(
    csrf: &str,
    tenants: &[TenantRow],
    f: &LogFilters,
    entries: &[LogEntry],
    total: u64,
    page: u64,
    per_page: u64,
    error: Option<&str>,
) -> Markup {
    let pages = total.div_ceil(per_page).max(1);
    let qs = f.query_string();
    let page_link = |p: u64| {
        if qs.is_empty() {
            format!("/admin/log?page={p}")
        } else {
            format!("/admin/log?{qs}&page={p}")
        }
    };
    let export = if qs.is_empty() {
        "/admin/log/export".to_owned()
    } else {
        format!("/admin/log/export?{qs}")
    };
    layout(
        "Provisioning log",
        Nav::Log,
        Some(csrf),
        html! {
            h1 { "Provisioning log" }
            @if let Some(e) = error { div.error { (e) } }
            form.filters.card method="get" action="/admin/log" {
                div { label for="f-tenant" { "Tenant" }
                    select #f-tenant name="tenant" {
                        option value="" { "all" }
                        option value="-" selected[f.tenant == "-"] { "(unknown token)" }
                        @for t in tenants { option value=(t.name) selected[f.tenant == t.name] { (t.name) } }
                    }
                }
                div { label for="f-user" { "User or group name" } input #f-user name="user" value=(f.user) placeholder="alice@contoso.com"; }
                div { label for="f-id" { "Resource id" } input #f-id name="id" value=(f.resource_id); }
                div { label for="f-outcome" { "Outcome" }
                    select #f-outcome name="outcome" {
                        option value="" { "any" }
                        @for o in ["success", "failure", "ignored"] { option value=(o) selected[f.outcome == o] { (o) } }
                    }
                }
                div { label for="f-since" { "Since" } input #f-since name="since" value=(f.since) placeholder="24h, 7d, 2024-05-01" size="14"; }
                div { label for="f-until" { "Until" } input #f-until name="until" value=(f.until) size="14"; }
                button type="submit" { "Filter" }
                a.button.secondary href=(export) download { "Export JSON lines" }
            }
            p.muted #log-count { (total) " entries · page " (page) " of " (pages) }
            (log_table(entries))
            div.pager {
                @if page > 1 { a href=(page_link(page - 1)) { "← Newer" } }
                @if page < pages { a href=(page_link(page + 1)) { "Older →" } }
            }
        },
    )
}

/// One hidden user in the review page.
#[derive(Debug)]
pub(crate) struct Hidden {
    pub(crate) tenant: String,
    pub(crate) state: &'static str,
    pub(crate) user: Value,
}

/// The review queue and the soft-deleted users, with approve / restore.
pub(crate) fn review(csrf: &str, rows: &[Hidden], tenant: &str, msg: Option<&str>) -> Markup {
    let (queued, deleted): (Vec<&Hidden>, Vec<&Hidden>) =
        rows.iter().partition(|h| h.state == "review");
    let table = |rows: &[&Hidden], approve_label: &str| {
        html! {
            @if rows.is_empty() { p.muted { "None." } } @else {
                table {
                    thead { tr { th { "Tenant" } th { "userName" } th { "Display name" } th { "Since" } th { "Id" } th {} } }
                    tbody {
                        @for h in rows {
                            @let id = h.user["id"].as_str().unwrap_or_default();
                            tr id={"hidden-" (id)} {
                                td { (h.tenant) }
                                td { (h.user["userName"].as_str().unwrap_or_default()) }
                                td { (h.user["displayName"].as_str().unwrap_or_default()) }
                                td.mono { (h.user["_scimkit"]["hiddenAt"].as_str().unwrap_or_default()) }
                                td.mono { a href={"/admin/tenants/" (h.tenant) "/users/" (id)} { (id) } }
                                td {
                                    form.inline method="post" action={"/admin/review/" (h.tenant) "/" (id) "/approve"} {
                                        input type="hidden" name="csrf" value=(csrf);
                                        button.danger type="submit" { (approve_label) }
                                    }
                                    " "
                                    form.inline method="post" action={"/admin/review/" (h.tenant) "/" (id) "/restore"} {
                                        input type="hidden" name="csrf" value=(csrf);
                                        button.secondary type="submit" { "Restore" }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    layout(
        "Review queue",
        Nav::Review,
        Some(csrf),
        html! {
            h1 { "Review queue" @if !tenant.is_empty() { " · " (tenant) } }
            (flash(msg))
            div.card #review-queue {
                h2 { "Deletions awaiting review" }
                p.hint { "Tenants with deletion = review: the IdP deleted these users; they are deactivated and hidden until you approve (removed for good) or restore them." }
                (table(&queued, "Approve deletion"))
            }
            div.card #soft-deleted {
                h2 { "Soft-deleted users" }
                p.hint { "Tenants with deletion = soft: hidden from the IdP, kept here." }
                (table(&deleted, "Delete for good"))
            }
        },
    )
}

/// A tenant: policy form, counts and chart.
#[allow(clippy::too_many_arguments)]
pub(crate) fn tenant(
    csrf: &str,
    name: &str,
    p: &Policies,
    origin: &PolicyOrigin,
    in_file: bool,
    summary: &TenantSummary,
    slots: &[String],
    msg: Option<&str>,
    error: Option<&str>,
) -> Markup {
    let opt = |value: &str, label: &str, current: &str| {
        html! { option value=(value) selected[value == current] { (label) } }
    };
    layout(
        name,
        Nav::None,
        Some(csrf),
        html! {
            h1 { "Tenant " (name) }
            (flash(msg))
            @if let Some(e) = error { div.error { (e) } }
            p {
                a href={"/admin/tenants/" (name) "/users"} { (summary.users.map_or("?".to_owned(), |n| n.to_string())) " users" } " · "
                a href={"/admin/tenants/" (name) "/groups"} { (summary.groups.map_or("?".to_owned(), |n| n.to_string())) " groups" } " · "
                a href={"/admin/review?tenant=" (name)} { (summary.review) " awaiting review" } " · "
                a href={"/admin/log?tenant=" (name)} { "log" }
            }
            div.card {
                h2 { "Requests per day" }
                p { (summary.total) " requests, " (summary.failures) " failed (error rate " (pct(summary.failures, summary.total)) ") in 14 days" }
                (chart(&summary.buckets, slots, false))
            }
            div.card {
                h2 { "Provisioning policies" }
                p.hint {
                    @match origin {
                        PolicyOrigin::Default => "This tenant uses the server's default policies.",
                        PolicyOrigin::Config => "Set from the config file at the last start.",
                        PolicyOrigin::Admin => "Last changed on this page.",
                    }
                    @if in_file { " The config file names this tenant: its values replace these at the next start." }
                }
                form method="post" action={"/admin/tenants/" (name) "/policies"} #policies {
                    input type="hidden" name="csrf" value=(csrf);
                    label.check { input type="checkbox" name="enabled" value="on" checked[p.enabled]; "Provisioning enabled" }
                    p.hint { "Off: every SCIM request of this tenant answers 403; nothing is changed or deleted." }
                    label for="deletion" { "What DELETE does to a user" }
                    select #deletion name="deletion" {
                        (opt("hard", "hard — remove it", deletion_name(p.deletion)))
                        (opt("soft", "soft — deactivate and hide, keep the data", deletion_name(p.deletion)))
                        (opt("review", "review — deactivate, hide and wait for approval here", deletion_name(p.deletion)))
                    }
                    label for="groups" { "Groups" }
                    select #groups name="groups" {
                        (opt("full", "full — create, change and delete groups", group_name(p.groups)))
                        (opt("update-only", "update-only — match existing groups by name, never create or delete", group_name(p.groups)))
                        (opt("refuse", "refuse — answer 403 to group requests", group_name(p.groups)))
                        (opt("ignore", "ignore — accept group requests and store nothing", group_name(p.groups)))
                    }
                    label for="link" { "Link existing users on create" }
                    select #link name="link_existing" {
                        (opt("off", "off — a duplicate userName is 409", link_name(p.link_existing)))
                        (opt("username", "username — adopt a local user with that userName and no externalId", link_name(p.link_existing)))
                        (opt("username-or-email", "username-or-email — also match the work email", link_name(p.link_existing)))
                    }
                    label.check { input type="checkbox" name="require_guid_external_id" value="on" checked[p.require_guid_external_id]; "Require externalId to be a GUID (the Entra objectId)" }
                    label for="rename" { "Rename on deactivation" }
                    input #rename name="rename_on_deactivate" size="40" value=(p.rename_on_deactivate.as_deref().unwrap_or("")) placeholder="deactivated-{id}-{userName}";
                    p.hint { "Empty: keep the userName. A template with {id} (and {userName}) frees the address while the user is inactive; the name comes back on reactivation." }
                    p { button type="submit" { "Save policies" } }
                }
            }
        },
    )
}

/// Users or groups of a tenant.
#[allow(clippy::too_many_arguments)]
pub(crate) fn resources(
    csrf: &str,
    tenant: &str,
    kind: &str,
    items: &[Value],
    total: usize,
    page: usize,
    per_page: usize,
    search: &str,
) -> Markup {
    let pages = total.div_ceil(per_page).max(1);
    let title = if kind == "users" { "Users" } else { "Groups" };
    let link = |p: usize| {
        let mut s = form_urlencoded::Serializer::new(String::new());
        if !search.is_empty() {
            s.append_pair("q", search);
        }
        s.append_pair("page", &p.to_string());
        format!("/admin/tenants/{tenant}/{kind}?{}", s.finish())
    };
    layout(
        title,
        Nav::None,
        Some(csrf),
        html! {
            h1 { (title) " of " a href={"/admin/tenants/" (tenant)} { (tenant) } }
            form.filters.card method="get" {
                div { label for="q" { @if kind == "users" { "userName starts with" } @else { "displayName starts with" } }
                    input #q name="q" value=(search); }
                button type="submit" { "Search" }
            }
            p.muted { (total) " " (kind) " · page " (page) " of " (pages) }
            table #resources {
                thead { tr {
                    @if kind == "users" { th { "userName" } th { "Display name" } th { "Active" } }
                    @else { th { "Display name" } }
                    th { "externalId" } th { "Last modified" } th { "Id" }
                } }
                tbody {
                    @for r in items {
                        @let id = r["id"].as_str().unwrap_or_default();
                        tr {
                            @if kind == "users" {
                                td { a href={"/admin/tenants/" (tenant) "/users/" (id)} { (r["userName"].as_str().unwrap_or_default()) } }
                                td { (r["displayName"].as_str().unwrap_or_default()) }
                                td { @if r["active"] == Value::Bool(false) { span.bad { "no" } } @else { span.ok { "yes" } } }
                            } @else {
                                td { a href={"/admin/tenants/" (tenant) "/groups/" (id)} { (r["displayName"].as_str().unwrap_or_default()) } }
                            }
                            td.mono { (r["externalId"].as_str().unwrap_or_default()) }
                            td.mono { (r["meta"]["lastModified"].as_str().unwrap_or_default()) }
                            td.mono { (id) }
                        }
                    }
                }
            }
            div.pager {
                @if page > 1 { a href=(link(page - 1)) { "← Previous" } }
                @if page < pages { a href=(link(page + 1)) { "Next →" } }
            }
        },
    )
}

/// One user or group with its provisioning history.
#[allow(clippy::too_many_arguments)]
pub(crate) fn resource(
    csrf: &str,
    tenant: &str,
    kind: &str,
    id: &str,
    resource: Option<&Value>,
    hidden: Option<&str>,
    history: &[LogEntry],
    msg: Option<&str>,
) -> Markup {
    let name = resource
        .and_then(|r| r.get("userName").or_else(|| r.get("displayName")))
        .and_then(Value::as_str)
        .unwrap_or(id);
    let ignored = resource.is_some_and(|r| r["_scimkit"]["ignored"] == Value::Bool(true));
    let shown = resource.map(|r| {
        let mut r = r.clone();
        if let Some(o) = r.as_object_mut() {
            o.remove("_scimkit");
            o.remove("password");
        }
        serde_json::to_string_pretty(&r).unwrap_or_default()
    });
    layout(
        name,
        Nav::None,
        Some(csrf),
        html! {
            h1 { (name) }
            (flash(msg))
            p.muted { "Tenant " a href={"/admin/tenants/" (tenant)} { (tenant) } " · " (kind) " · id " code { (id) } }
            @match (resource, hidden) {
                (_, Some(state)) => div.flash { "This user is hidden (" (state) "): see the " a href={"/admin/review?tenant=" (tenant)} { "review queue" } "." },
                (None, None) => div.error { "Not found: it was deleted, or never existed in this tenant. Its history is below." },
                _ => {}
            }
            @if resource.is_some() && hidden.is_none() {
                div.card {
                    @if ignored { p.warn { "Ignored by provisioning: the IdP's changes and deletes are answered with success and not applied." } }
                    form.inline method="post" action={"/admin/tenants/" (tenant) "/" (kind) "/" (id) "/ignore"} {
                        input type="hidden" name="csrf" value=(csrf);
                        input type="hidden" name="ignored" value=(if ignored { "0" } else { "1" });
                        button.secondary type="submit" { @if ignored { "Stop ignoring" } @else { "Ignore in provisioning" } }
                    }
                }
            }
            h2 { "Provisioning history" }
            (log_table(history))
            @if let Some(json) = shown {
                h2 { "As stored" }
                pre.card.mono.scroll { (json) }
            }
        },
    )
}
