//! What Microsoft Entra ID sends: the full user of the default attribute
//! mapping, its PATCH dialect, and group membership PATCHes.

use serde_json::{Value, json};

/// The core User schema URN.
pub(crate) const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
/// The core Group schema URN.
pub(crate) const GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
/// The enterprise User extension URN.
pub(crate) const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
/// The PatchOp message URN.
pub(crate) const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

/// The userName of user `i` (Entra: userPrincipalName).
pub(crate) fn user_name(i: usize) -> String {
    format!("adele.vance.{i:06}@contoso.onmicrosoft.com")
}

/// The externalId of user `i` (Entra: the objectId, a GUID).
pub(crate) fn external_id(i: usize) -> String {
    format!("8f0e5c1a-3b7d-4e2f-9a61-{:012x}", i as u64 * 7919 + 17)
}

const DEPARTMENTS: [&str; 5] = ["Engineering", "Sales", "Finance", "Operations", "Marketing"];
const CITIES: [(&str, &str, &str); 4] = [
    ("Redmond", "WA", "98052"),
    ("Dublin", "Leinster", "D18 P521"),
    ("Munich", "Bavaria", "80807"),
    ("Sydney", "NSW", "2000"),
];

/// The user Entra creates for user `i`: every attribute of the default
/// mapping (core + enterprise), about 1 KB of JSON.
pub(crate) fn user(i: usize) -> Value {
    let (city, region, zip) = CITIES[i % CITIES.len()];
    let given = format!("Adele{i}");
    let family = format!("Vance-{}", i % 997);
    json!({
        "schemas": [USER, ENTERPRISE],
        "externalId": external_id(i),
        "userName": user_name(i),
        "active": true,
        "displayName": format!("{given} {family}"),
        "title": "Retail Manager",
        "preferredLanguage": "en-US",
        "name": {
            "formatted": format!("{given} {family}"),
            "familyName": family,
            "givenName": given,
        },
        "emails": [{"primary": true, "type": "work", "value": user_name(i)}],
        "phoneNumbers": [
            {"type": "work", "value": format!("+1 425 555 {:04}", i % 10000)},
            {"type": "mobile", "value": format!("+1 206 555 {:04}", (i * 7) % 10000)},
            {"type": "fax", "value": format!("+1 425 555 {:04}", (i * 3) % 10000)},
        ],
        "addresses": [{
            "type": "work",
            "formatted": format!("{} Microsoft Way\n{city}, {region} {zip}\nUS", i % 500 + 1),
            "streetAddress": format!("{} Microsoft Way", i % 500 + 1),
            "locality": city,
            "region": region,
            "postalCode": zip,
            "country": "US",
            "primary": true,
        }],
        ENTERPRISE: {
            "employeeNumber": format!("E{i:07}"),
            "department": DEPARTMENTS[i % DEPARTMENTS.len()],
            "costCenter": format!("CC-{:04}", i % 313),
            "organization": "Contoso Ltd",
            "division": "Retail Division EMEA",
        },
    })
}

/// Which PATCH dialect to send.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) enum Dialect {
    /// Entra's default: capitalised ops, booleans as strings, path-less
    /// replace with dotted keys, bare manager id.
    Entra,
    /// Entra with `?aadOptscim062020`: RFC 7644 ops and types.
    Rfc,
}

/// The values PATCH `v` sets, checked afterwards.
pub(crate) fn patch_title(v: usize) -> String {
    format!("Title {v}")
}
/// The department PATCH `v` sets.
pub(crate) fn patch_department(v: usize) -> String {
    format!("Dept {}", v % 50)
}
/// The givenName PATCH `v` sets.
pub(crate) fn patch_given(v: usize) -> String {
    format!("Given{v}")
}
/// The mobile number PATCH `v` sets.
pub(crate) fn patch_mobile(v: usize) -> String {
    format!("+1 206 555 {:04}", v % 10000)
}

/// The PATCH of an Entra incremental cycle for a user: job title, mobile,
/// city, department, manager, and a path-less replace (active + givenName).
pub(crate) fn user_patch(v: usize, user_name: &str, manager: &str, dialect: Dialect) -> Value {
    let (city, _, _) = CITIES[v % CITIES.len()];
    match dialect {
        Dialect::Entra => json!({
            "schemas": [PATCH_OP],
            "Operations": [
                {"op": "Replace", "path": "title", "value": patch_title(v)},
                {"op": "Replace", "path": "emails[type eq \"work\"].value", "value": user_name},
                {"op": "Replace", "path": "phoneNumbers[type eq \"mobile\"].value", "value": patch_mobile(v)},
                {"op": "Replace", "path": "addresses[type eq \"work\"].locality", "value": city},
                {"op": "Replace", "path": format!("{ENTERPRISE}:department"), "value": patch_department(v)},
                {"op": "Add", "path": format!("{ENTERPRISE}:manager"), "value": manager},
                {"op": "Replace", "value": {"active": "True", "name.givenName": patch_given(v)}},
            ]
        }),
        Dialect::Rfc => json!({
            "schemas": [PATCH_OP],
            "Operations": [
                {"op": "replace", "path": "title", "value": patch_title(v)},
                {"op": "replace", "path": "emails[type eq \"work\"].value", "value": user_name},
                {"op": "replace", "path": "phoneNumbers[type eq \"mobile\"].value", "value": patch_mobile(v)},
                {"op": "replace", "path": "addresses[type eq \"work\"].locality", "value": city},
                {"op": "replace", "path": format!("{ENTERPRISE}:department"), "value": patch_department(v)},
                {"op": "add", "path": format!("{ENTERPRISE}:manager"), "value": {"value": manager}},
                {"op": "replace", "value": {"active": true, "name": {"givenName": patch_given(v)}}},
            ]
        }),
    }
}

/// Check a user after PATCH `v` (everything when `full`, else the title only).
pub(crate) fn check_patched(u: &Value, v: usize, manager: &str, full: bool) -> Result<(), String> {
    let title = u["title"].as_str().unwrap_or("");
    if title != patch_title(v) {
        return Err(format!("title {title:?}, expected {:?}", patch_title(v)));
    }
    if !full {
        return Ok(());
    }
    let ent = &u[ENTERPRISE];
    let checks: [(&str, Option<&str>, String); 4] = [
        (
            "department",
            ent["department"].as_str(),
            patch_department(v),
        ),
        (
            "manager",
            ent["manager"]["value"].as_str(),
            manager.to_owned(),
        ),
        (
            "name.givenName",
            u["name"]["givenName"].as_str(),
            patch_given(v),
        ),
        (
            "mobile",
            u["phoneNumbers"]
                .as_array()
                .and_then(|a| a.iter().find(|p| p["type"] == "mobile"))
                .and_then(|p| p["value"].as_str()),
            patch_mobile(v),
        ),
    ];
    for (what, got, want) in checks {
        if got != Some(want.as_str()) {
            return Err(format!("{what} {got:?}, expected {want:?}"));
        }
    }
    if u["active"] != json!(true) {
        return Err(format!("active {}, expected true", u["active"]));
    }
    Ok(())
}

/// The displayName of group `g`.
pub(crate) fn group_name(g: usize) -> String {
    format!("Contoso Group {g:03}")
}

/// The group Entra creates (members arrive later, by PATCH).
pub(crate) fn group(g: usize) -> Value {
    json!({
        "schemas": [GROUP],
        "externalId": format!("5d3c1b2a-0f9e-4d8c-b7a6-{:012x}", g),
        "displayName": group_name(g),
    })
}

/// Entra's membership PATCH: Add with a list of `{"value": id}`.
pub(crate) fn add_members(ids: &[String], dialect: Dialect) -> Value {
    let op = match dialect {
        Dialect::Entra => "Add",
        Dialect::Rfc => "add",
    };
    let members: Vec<Value> = ids.iter().map(|id| json!({ "value": id })).collect();
    json!({
        "schemas": [PATCH_OP],
        "Operations": [{"op": op, "path": "members", "value": members}],
    })
}
