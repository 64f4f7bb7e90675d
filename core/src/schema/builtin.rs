//! The built-in schemas: core User (RFC 7643 §4.1), Group (§4.2), EnterpriseUser
//! (§4.3) and the common attributes (§3.1), as given in RFC 7643 §8.7.1.

use super::{
    AttrType as T, Attribute as A, Mutability as M, Returned as R, Schema, Uniqueness as U,
};

/// `urn:ietf:params:scim:schemas:core:2.0:User`
pub const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
/// `urn:ietf:params:scim:schemas:core:2.0:Group`
pub const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
/// `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User`
pub const ENTERPRISE_USER_SCHEMA: &str =
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
/// `urn:ietf:params:scim:api:messages:2.0:ListResponse`
pub const LIST_RESPONSE_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
/// `urn:ietf:params:scim:api:messages:2.0:PatchOp`
pub const PATCH_OP_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
/// `urn:ietf:params:scim:api:messages:2.0:SearchRequest`
pub const SEARCH_REQUEST_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:SearchRequest";
/// `urn:ietf:params:scim:api:messages:2.0:BulkRequest`
pub const BULK_REQUEST_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:BulkRequest";
/// `urn:ietf:params:scim:api:messages:2.0:BulkResponse`
pub const BULK_RESPONSE_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:BulkResponse";
/// `urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig`
pub const SERVICE_PROVIDER_CONFIG_SCHEMA: &str =
    "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig";
/// `urn:ietf:params:scim:schemas:core:2.0:ResourceType`
pub const RESOURCE_TYPE_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:ResourceType";
/// `urn:ietf:params:scim:schemas:core:2.0:Schema`
pub const SCHEMA_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Schema";

fn s(name: &str) -> A {
    A::new(name, T::String)
}

fn b(name: &str) -> A {
    A::new(name, T::Boolean)
}

fn r(name: &str, types: &[&str]) -> A {
    A::new(name, T::Reference).refs(types.iter().copied())
}

fn c(name: &str, subs: Vec<A>) -> A {
    A::new(name, T::Complex).subs(subs)
}

/// The sub-attributes of a typical multi-valued attribute (`value`, `display`,
/// `type`, `primary`) — RFC 7643 §2.4.
fn multi_subs(value: A, types: &[&str]) -> Vec<A> {
    vec![
        value,
        s("display").describe("A human-readable name, primarily used for display purposes."),
        s("type").canonical(types.iter().copied()).describe("A label indicating the attribute's function."),
        b("primary").describe("A Boolean value indicating the 'primary' or preferred attribute value for this attribute."),
    ]
}

/// `id`, `externalId` and `meta` (RFC 7643 §3.1).
pub(crate) fn common_attributes() -> Vec<A> {
    vec![
        s("id")
            .case_exact()
            .mutability(M::ReadOnly)
            .returned(R::Always)
            .uniqueness(U::Server)
            .describe("Unique identifier for the SCIM resource as defined by the service provider."),
        s("externalId")
            .case_exact()
            .describe("A String that is an identifier for the resource as defined by the provisioning client."),
        c(
            "meta",
            vec![
                s("resourceType").case_exact().mutability(M::ReadOnly),
                A::new("created", T::DateTime).mutability(M::ReadOnly),
                A::new("lastModified", T::DateTime).mutability(M::ReadOnly),
                r("location", &["uri"]).case_exact().mutability(M::ReadOnly),
                s("version").case_exact().mutability(M::ReadOnly),
            ],
        )
        .mutability(M::ReadOnly)
        .describe("A complex attribute containing resource metadata."),
    ]
}

/// The core User schema (RFC 7643 §4.1, §8.7.1).
pub(crate) fn user_schema() -> Schema {
    let mut schema = Schema::new(
        USER_SCHEMA,
        "User",
        vec![
            s("userName")
                .required()
                .uniqueness(U::Server)
                .describe("Unique identifier for the User, typically used by the user to directly authenticate to the service provider."),
            c(
                "name",
                vec![
                    s("formatted"),
                    s("familyName"),
                    s("givenName"),
                    s("middleName"),
                    s("honorificPrefix"),
                    s("honorificSuffix"),
                ],
            )
            .describe("The components of the user's real name."),
            s("displayName").describe("The name of the User, suitable for display to end-users."),
            s("nickName").describe("The casual way to address the user in real life."),
            r("profileUrl", &["external"]).describe("A fully qualified URL pointing to a page representing the User's online profile."),
            s("title").describe("The user's title, such as \"Vice President\"."),
            s("userType").describe("Used to identify the relationship between the organization and the user."),
            s("preferredLanguage").describe("Indicates the User's preferred written or spoken language."),
            s("locale").describe("Used to indicate the User's default location for purposes of localizing items."),
            s("timezone").describe("The User's time zone in the 'Olson' time zone database format."),
            b("active").describe("A Boolean value indicating the User's administrative status."),
            s("password")
                .mutability(M::WriteOnly)
                .returned(R::Never)
                .describe("The User's cleartext password. Never returned."),
            c("emails", multi_subs(s("value"), &["work", "home", "other"]))
                .multi()
                .describe("Email addresses for the user."),
            c(
                "phoneNumbers",
                multi_subs(s("value"), &["work", "home", "mobile", "fax", "pager", "other"]),
            )
            .multi()
            .describe("Phone numbers for the User."),
            c(
                "ims",
                multi_subs(s("value"), &["aim", "gtalk", "icq", "xmpp", "msn", "skype", "qq", "yahoo"]),
            )
            .multi()
            .describe("Instant messaging addresses for the User."),
            c("photos", multi_subs(r("value", &["external"]), &["photo", "thumbnail"]))
                .multi()
                .describe("URLs of photos of the User."),
            c(
                "addresses",
                vec![
                    s("formatted"),
                    s("streetAddress"),
                    s("locality"),
                    s("region"),
                    s("postalCode"),
                    s("country"),
                    s("type").canonical(["work", "home", "other"]),
                    b("primary"),
                ],
            )
            .multi()
            .describe("A physical mailing address for this User."),
            c(
                "groups",
                vec![
                    s("value").mutability(M::ReadOnly),
                    r("$ref", &["User", "Group"]).mutability(M::ReadOnly),
                    s("display").mutability(M::ReadOnly),
                    s("type").canonical(["direct", "indirect"]).mutability(M::ReadOnly),
                ],
            )
            .multi()
            .mutability(M::ReadOnly)
            .describe("A list of groups to which the user belongs."),
            c("entitlements", multi_subs(s("value"), &[]))
                .multi()
                .describe("A list of entitlements for the User."),
            c("roles", multi_subs(s("value"), &[]))
                .multi()
                .describe("A list of roles for the User."),
            c(
                "x509Certificates",
                multi_subs(A::new("value", T::Binary), &[]),
            )
            .multi()
            .describe("A list of certificates issued to the User."),
        ],
    );
    schema.description = "User Account".to_owned();
    schema
}

/// The core Group schema (RFC 7643 §4.2, §8.7.1).
pub(crate) fn group_schema() -> Schema {
    let mut schema = Schema::new(
        GROUP_SCHEMA,
        "Group",
        vec![
            s("displayName")
                .required()
                .describe("A human-readable name for the Group."),
            c(
                "members",
                vec![
                    s("value").mutability(M::Immutable),
                    r("$ref", &["User", "Group"]).mutability(M::Immutable),
                    s("display").mutability(M::Immutable),
                    s("type")
                        .canonical(["User", "Group"])
                        .mutability(M::Immutable),
                ],
            )
            .multi()
            .describe("A list of members of the Group."),
        ],
    );
    schema.description = "Group".to_owned();
    schema
}

/// The EnterpriseUser extension (RFC 7643 §4.3, §8.7.1).
pub(crate) fn enterprise_user_schema() -> Schema {
    let mut schema = Schema::new(
        ENTERPRISE_USER_SCHEMA,
        "EnterpriseUser",
        vec![
            s("employeeNumber")
                .describe("Numeric or alphanumeric identifier assigned to a person."),
            s("costCenter").describe("Identifies the name of a cost center."),
            s("organization").describe("Identifies the name of an organization."),
            s("division").describe("Identifies the name of a division."),
            s("department").describe("Identifies the name of a department."),
            c(
                "manager",
                vec![
                    s("value")
                        .describe("The id of the SCIM resource representing the User's manager."),
                    r("$ref", &["User"]),
                    s("displayName").mutability(M::ReadOnly),
                ],
            )
            .describe("The User's manager."),
        ],
    );
    schema.description = "Enterprise User".to_owned();
    schema
}
