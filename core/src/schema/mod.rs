//! The attribute model of RFC 7643 §2 and §7: schemas, attributes and their
//! characteristics, the built-in User / Group / EnterpriseUser schemas, and the
//! registry that resolves (case-insensitive) attribute paths to definitions.

mod builtin;
mod validate;

use std::fmt;
use std::sync::Arc;

use serde_json::{Map, Value, json};

use crate::error::{Result, ScimError};
use crate::filter::AttrPath;

pub use builtin::{
    BULK_REQUEST_SCHEMA, BULK_RESPONSE_SCHEMA, ENTERPRISE_USER_SCHEMA, GROUP_SCHEMA,
    LIST_RESPONSE_SCHEMA, PATCH_OP_SCHEMA, RESOURCE_TYPE_SCHEMA, SCHEMA_SCHEMA,
    SEARCH_REQUEST_SCHEMA, SERVICE_PROVIDER_CONFIG_SCHEMA, USER_SCHEMA,
};
pub use validate::UnknownAttributes;
pub(crate) use validate::{
    coerce_bool as coerce_bool_value, is_empty as is_empty_value, validate_resource,
};

/// The data type of an attribute (RFC 7643 §2.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AttrType {
    /// A JSON string (§2.3.1).
    String,
    /// A JSON boolean (§2.3.2).
    Boolean,
    /// A JSON number with a fractional part allowed (§2.3.3).
    Decimal,
    /// A JSON number without a fractional part (§2.3.4).
    Integer,
    /// An xsd:dateTime string, e.g. `2008-01-23T04:56:22Z` (§2.3.5).
    DateTime,
    /// A base64 string (§2.3.6).
    Binary,
    /// A URI string referring to a resource (§2.3.7).
    Reference,
    /// A complex attribute with sub-attributes (§2.3.8).
    Complex,
}

impl AttrType {
    /// The wire name used in `/Schemas` (`"string"`, `"dateTime"`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            AttrType::String => "string",
            AttrType::Boolean => "boolean",
            AttrType::Decimal => "decimal",
            AttrType::Integer => "integer",
            AttrType::DateTime => "dateTime",
            AttrType::Binary => "binary",
            AttrType::Reference => "reference",
            AttrType::Complex => "complex",
        }
    }

    /// Parse a wire name (case-insensitive).
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s.to_ascii_lowercase().as_str() {
            "string" => AttrType::String,
            "boolean" => AttrType::Boolean,
            "decimal" => AttrType::Decimal,
            "integer" => AttrType::Integer,
            "datetime" => AttrType::DateTime,
            "binary" => AttrType::Binary,
            "reference" => AttrType::Reference,
            "complex" => AttrType::Complex,
            _ => return None,
        })
    }

    /// Whether values of this type are compared as strings.
    pub fn is_stringish(self) -> bool {
        matches!(
            self,
            AttrType::String | AttrType::Reference | AttrType::Binary
        )
    }
}

/// When an attribute may be written (RFC 7643 §2.2 "mutability").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mutability {
    /// Set by the service provider; ignored on input.
    ReadOnly,
    /// May be updated and read at any time.
    ReadWrite,
    /// May be set on creation (or when unset), never changed afterwards.
    Immutable,
    /// May be written but is never returned (e.g. `password`).
    WriteOnly,
}

impl Mutability {
    /// The wire name (`"readOnly"`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            Mutability::ReadOnly => "readOnly",
            Mutability::ReadWrite => "readWrite",
            Mutability::Immutable => "immutable",
            Mutability::WriteOnly => "writeOnly",
        }
    }

    /// Parse a wire name (case-insensitive).
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s.to_ascii_lowercase().as_str() {
            "readonly" => Mutability::ReadOnly,
            "readwrite" => Mutability::ReadWrite,
            "immutable" => Mutability::Immutable,
            "writeonly" => Mutability::WriteOnly,
            _ => return None,
        })
    }
}

/// When an attribute is returned (RFC 7643 §2.2 "returned").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Returned {
    /// Always returned, whatever `attributes`/`excludedAttributes` say.
    Always,
    /// Never returned (e.g. `password`).
    Never,
    /// Returned unless excluded.
    Default,
    /// Returned only when named in `attributes`.
    Request,
}

impl Returned {
    /// The wire name (`"always"`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            Returned::Always => "always",
            Returned::Never => "never",
            Returned::Default => "default",
            Returned::Request => "request",
        }
    }

    /// Parse a wire name (case-insensitive).
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s.to_ascii_lowercase().as_str() {
            "always" => Returned::Always,
            "never" => Returned::Never,
            "default" => Returned::Default,
            "request" => Returned::Request,
            _ => return None,
        })
    }
}

/// How unique an attribute's value must be (RFC 7643 §2.2 "uniqueness").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Uniqueness {
    /// No uniqueness.
    None,
    /// Unique within the tenant (the store enforces it).
    Server,
    /// Globally unique (treated like `Server`: scimkit cannot see other servers).
    Global,
}

impl Uniqueness {
    /// The wire name (`"none"`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            Uniqueness::None => "none",
            Uniqueness::Server => "server",
            Uniqueness::Global => "global",
        }
    }

    /// Parse a wire name (case-insensitive).
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s.to_ascii_lowercase().as_str() {
            "none" => Uniqueness::None,
            "server" => Uniqueness::Server,
            "global" => Uniqueness::Global,
            _ => return None,
        })
    }
}

/// One attribute definition (RFC 7643 §7).
///
/// Built with [`Attribute::new`] and the chained setters; the defaults are the
/// RFC's (§2.2): not multi-valued, not required, not caseExact, readWrite, returned
/// by default, no uniqueness.
#[derive(Debug, Clone, PartialEq)]
pub struct Attribute {
    /// The attribute's canonical name.
    pub name: String,
    /// The data type.
    pub ty: AttrType,
    /// Whether the attribute holds a list of values.
    pub multi_valued: bool,
    /// Human-readable description.
    pub description: String,
    /// Whether a value is required on create and replace.
    pub required: bool,
    /// Whether string comparisons are case-sensitive.
    pub case_exact: bool,
    /// When the attribute may be written.
    pub mutability: Mutability,
    /// When the attribute is returned.
    pub returned: Returned,
    /// Uniqueness.
    pub uniqueness: Uniqueness,
    /// Suggested values (advertised; not enforced, per RFC 7643 §2.2's "MAY").
    pub canonical_values: Vec<String>,
    /// For references, the resource types referred to.
    pub reference_types: Vec<String>,
    /// Sub-attributes of a complex attribute.
    pub sub_attributes: Vec<Attribute>,
}

impl Attribute {
    /// A new attribute with the RFC defaults.
    pub fn new(name: impl Into<String>, ty: AttrType) -> Self {
        Self {
            name: name.into(),
            ty,
            multi_valued: false,
            description: String::new(),
            required: false,
            case_exact: false,
            mutability: Mutability::ReadWrite,
            returned: Returned::Default,
            uniqueness: Uniqueness::None,
            canonical_values: Vec::new(),
            reference_types: Vec::new(),
            sub_attributes: Vec::new(),
        }
    }

    /// Mark as multi-valued.
    pub fn multi(mut self) -> Self {
        self.multi_valued = true;
        self
    }

    /// Mark as required.
    pub fn required(mut self) -> Self {
        self.required = true;
        self
    }

    /// Mark as case-exact.
    pub fn case_exact(mut self) -> Self {
        self.case_exact = true;
        self
    }

    /// Set the mutability.
    pub fn mutability(mut self, m: Mutability) -> Self {
        self.mutability = m;
        self
    }

    /// Set the returned characteristic.
    pub fn returned(mut self, r: Returned) -> Self {
        self.returned = r;
        self
    }

    /// Set the uniqueness.
    pub fn uniqueness(mut self, u: Uniqueness) -> Self {
        self.uniqueness = u;
        self
    }

    /// Set the description.
    pub fn describe(mut self, d: impl Into<String>) -> Self {
        self.description = d.into();
        self
    }

    /// Set the canonical values.
    pub fn canonical<I: IntoIterator<Item = S>, S: Into<String>>(mut self, values: I) -> Self {
        self.canonical_values = values.into_iter().map(Into::into).collect();
        self
    }

    /// Set the reference types.
    pub fn refs<I: IntoIterator<Item = S>, S: Into<String>>(mut self, values: I) -> Self {
        self.reference_types = values.into_iter().map(Into::into).collect();
        self
    }

    /// Set the sub-attributes (for complex attributes).
    pub fn subs(mut self, subs: Vec<Attribute>) -> Self {
        self.sub_attributes = subs;
        self
    }

    /// Find a sub-attribute by name, case-insensitively.
    pub fn sub(&self, name: &str) -> Option<&Attribute> {
        self.sub_attributes
            .iter()
            .find(|a| a.name.eq_ignore_ascii_case(name))
    }

    /// The RFC 7643 §7 JSON representation.
    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("name".into(), json!(self.name));
        m.insert("type".into(), json!(self.ty.as_str()));
        m.insert("multiValued".into(), json!(self.multi_valued));
        m.insert("description".into(), json!(self.description));
        m.insert("required".into(), json!(self.required));
        if self.ty != AttrType::Complex {
            m.insert("caseExact".into(), json!(self.case_exact));
        }
        if !self.canonical_values.is_empty() {
            m.insert("canonicalValues".into(), json!(self.canonical_values));
        }
        if !self.reference_types.is_empty() {
            m.insert("referenceTypes".into(), json!(self.reference_types));
        }
        m.insert("mutability".into(), json!(self.mutability.as_str()));
        m.insert("returned".into(), json!(self.returned.as_str()));
        if self.ty != AttrType::Complex {
            m.insert("uniqueness".into(), json!(self.uniqueness.as_str()));
        }
        if !self.sub_attributes.is_empty() {
            m.insert(
                "subAttributes".into(),
                Value::Array(self.sub_attributes.iter().map(Attribute::to_json).collect()),
            );
        }
        Value::Object(m)
    }

    /// Parse the RFC 7643 §7 JSON representation (as a host would register a custom
    /// extension from a JSON file). Unknown keys are ignored; missing ones take the
    /// RFC defaults.
    pub fn from_json(v: &Value) -> Result<Self> {
        let obj = v
            .as_object()
            .ok_or_else(|| ScimError::invalid_value("attribute definition must be an object"))?;
        let get_str = |k: &str| obj.get(k).and_then(Value::as_str);
        let name = get_str("name")
            .filter(|n| is_valid_attr_name(n))
            .ok_or_else(|| ScimError::invalid_value("attribute definition needs a valid name"))?;
        let ty_name = get_str("type").unwrap_or("string");
        let ty = AttrType::parse(ty_name).ok_or_else(|| {
            ScimError::invalid_value(format!("attribute {name}: unknown type {ty_name:?}"))
        })?;
        let mut a = Attribute::new(name, ty);
        let flag = |k: &str| obj.get(k).and_then(Value::as_bool).unwrap_or(false);
        a.multi_valued = flag("multiValued");
        a.required = flag("required");
        a.case_exact = flag("caseExact");
        a.description = get_str("description").unwrap_or_default().to_owned();
        if let Some(m) = get_str("mutability") {
            a.mutability = Mutability::parse(m).ok_or_else(|| {
                ScimError::invalid_value(format!("attribute {name}: unknown mutability {m:?}"))
            })?;
        }
        if let Some(r) = get_str("returned") {
            a.returned = Returned::parse(r).ok_or_else(|| {
                ScimError::invalid_value(format!("attribute {name}: unknown returned {r:?}"))
            })?;
        }
        if let Some(u) = get_str("uniqueness") {
            a.uniqueness = Uniqueness::parse(u).ok_or_else(|| {
                ScimError::invalid_value(format!("attribute {name}: unknown uniqueness {u:?}"))
            })?;
        }
        let strings = |k: &str| -> Vec<String> {
            obj.get(k)
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(Value::as_str)
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default()
        };
        a.canonical_values = strings("canonicalValues");
        a.reference_types = strings("referenceTypes");
        if let Some(subs) = obj.get("subAttributes").and_then(Value::as_array) {
            a.sub_attributes = subs
                .iter()
                .map(Attribute::from_json)
                .collect::<Result<_>>()?;
        }
        if a.ty == AttrType::Complex && a.sub_attributes.is_empty() {
            return Err(ScimError::invalid_value(format!(
                "complex attribute {name} needs subAttributes"
            )));
        }
        Ok(a)
    }
}

/// `ATTRNAME = ALPHA *(nameChar)`, `nameChar = "-" / "_" / DIGIT / ALPHA` (RFC 7643 §2.1),
/// plus `$ref`, which the RFC uses itself.
pub(crate) fn is_valid_attr_name(n: &str) -> bool {
    if n == "$ref" {
        return true;
    }
    let mut chars = n.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// A schema: a URN and its attributes (RFC 7643 §7).
#[derive(Debug, Clone, PartialEq)]
pub struct Schema {
    /// The schema URN, e.g. `urn:ietf:params:scim:schemas:core:2.0:User`.
    pub id: String,
    /// Human-readable name.
    pub name: String,
    /// Human-readable description.
    pub description: String,
    /// The attributes.
    pub attributes: Vec<Attribute>,
}

impl Schema {
    /// A new schema.
    pub fn new(id: impl Into<String>, name: impl Into<String>, attributes: Vec<Attribute>) -> Self {
        Self {
            id: id.into(),
            name: name.into(),
            description: String::new(),
            attributes,
        }
    }

    /// Find an attribute by name, case-insensitively.
    pub fn attribute(&self, name: &str) -> Option<&Attribute> {
        self.attributes
            .iter()
            .find(|a| a.name.eq_ignore_ascii_case(name))
    }

    /// Parse the RFC 7643 §7 JSON representation of a schema (`id`, `name`,
    /// `description`, `attributes`), e.g. to register a custom extension.
    pub fn from_json(v: &Value) -> Result<Self> {
        let id = v
            .get("id")
            .and_then(Value::as_str)
            .filter(|id| id.contains(':'))
            .ok_or_else(|| ScimError::invalid_value("schema needs a URN id"))?;
        let attributes = v
            .get("attributes")
            .and_then(Value::as_array)
            .ok_or_else(|| ScimError::invalid_value(format!("schema {id} needs attributes")))?
            .iter()
            .map(Attribute::from_json)
            .collect::<Result<Vec<_>>>()?;
        Ok(Schema {
            id: id.to_owned(),
            name: v
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
            description: v
                .get("description")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
            attributes,
        })
    }

    /// The `/Schemas/{id}` representation; `location` is the absolute or relative
    /// URL of the schema resource.
    pub fn to_json(&self, location: &str) -> Value {
        json!({
            "schemas": [SCHEMA_SCHEMA],
            "id": self.id,
            "name": self.name,
            "description": self.description,
            "attributes": self.attributes.iter().map(Attribute::to_json).collect::<Vec<_>>(),
            "meta": {"resourceType": "Schema", "location": location},
        })
    }
}

/// The kinds of resources scimkit serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ResourceKind {
    /// `/Users` (RFC 7643 §4.1).
    User,
    /// `/Groups` (RFC 7643 §4.2).
    Group,
}

impl ResourceKind {
    /// The resource type name: `"User"` or `"Group"`.
    pub fn as_str(self) -> &'static str {
        match self {
            ResourceKind::User => "User",
            ResourceKind::Group => "Group",
        }
    }

    /// The endpoint, relative to the base path: `"/Users"` or `"/Groups"`.
    pub fn endpoint(self) -> &'static str {
        match self {
            ResourceKind::User => "/Users",
            ResourceKind::Group => "/Groups",
        }
    }

    /// The core schema URN.
    pub fn schema_urn(self) -> &'static str {
        match self {
            ResourceKind::User => USER_SCHEMA,
            ResourceKind::Group => GROUP_SCHEMA,
        }
    }

    /// Both kinds, users first.
    pub const ALL: [ResourceKind; 2] = [ResourceKind::User, ResourceKind::Group];
}

impl fmt::Display for ResourceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An extension schema attached to a resource type.
#[derive(Debug, Clone, PartialEq)]
pub struct Extension {
    /// The extension schema.
    pub schema: Arc<Schema>,
    /// Whether every resource of the type must carry it.
    pub required: bool,
}

/// The complete schema of one resource kind: the core schema, the attributes common
/// to all resources (`id`, `externalId`, `meta`; RFC 7643 §3.1), and the extensions.
#[derive(Debug, Clone, PartialEq)]
pub struct ResourceSchema {
    /// Which kind this is.
    pub kind: ResourceKind,
    /// The core schema (User or Group).
    pub core: Arc<Schema>,
    /// Registered extensions.
    pub extensions: Vec<Extension>,
    common: Vec<Attribute>,
}

/// Where a resolved attribute lives.
#[derive(Debug, Clone, Copy)]
pub struct Resolved<'a> {
    /// The extension schema that owns it, or `None` for core and common attributes.
    pub extension: Option<&'a Schema>,
    /// The top-level attribute.
    pub attr: &'a Attribute,
    /// The sub-attribute, if the path names one.
    pub sub: Option<&'a Attribute>,
}

impl<'a> Resolved<'a> {
    /// The definition the path ends at (the sub-attribute if there is one).
    pub fn leaf(&self) -> &'a Attribute {
        self.sub.unwrap_or(self.attr)
    }

    /// The canonical [`AttrPath`] (canonical casing; URN only for extensions).
    pub fn canonical_path(&self) -> AttrPath {
        AttrPath {
            uri: self.extension.map(|s| s.id.clone()),
            name: self.attr.name.clone(),
            sub_attr: self.sub.map(|s| s.name.clone()),
        }
    }

    /// The JSON object that holds the top-level attribute: the resource itself, or
    /// the extension's object inside it.
    pub fn container<'v>(&self, resource: &'v Value) -> Option<&'v Map<String, Value>> {
        match self.extension {
            None => resource.as_object(),
            Some(s) => resource.get(&s.id).and_then(Value::as_object),
        }
    }

    /// The top-level attribute's value in `resource`, if present.
    pub fn top_value<'v>(&self, resource: &'v Value) -> Option<&'v Value> {
        self.container(resource)?.get(&self.attr.name)
    }
}

impl ResourceSchema {
    /// A resource schema from a core schema and its extensions.
    pub fn new(kind: ResourceKind, core: Arc<Schema>, extensions: Vec<Extension>) -> Self {
        Self {
            kind,
            core,
            extensions,
            common: builtin::common_attributes(),
        }
    }

    /// The attributes common to all resources (`id`, `externalId`, `meta`).
    pub fn common(&self) -> &[Attribute] {
        &self.common
    }

    /// Find an extension by URN, case-insensitively.
    pub fn extension(&self, urn: &str) -> Option<&Extension> {
        self.extensions
            .iter()
            .find(|e| e.schema.id.eq_ignore_ascii_case(urn))
    }

    /// Whether `urn` names the core schema or one of the extensions.
    pub fn knows_schema(&self, urn: &str) -> bool {
        self.core.id.eq_ignore_ascii_case(urn) || self.extension(urn).is_some()
    }

    /// All schema URNs, core first.
    pub fn schema_urns(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.core.id.as_str())
            .chain(self.extensions.iter().map(|e| e.schema.id.as_str()))
    }

    /// Resolve a top-level attribute name (no URN) against common and core attributes.
    pub fn core_attribute(&self, name: &str) -> Option<&Attribute> {
        self.common
            .iter()
            .find(|a| a.name.eq_ignore_ascii_case(name))
            .or_else(|| self.core.attribute(name))
    }

    /// Resolve a path to its definitions. Names and URNs are matched
    /// case-insensitively. Returns `None` when the path names nothing known.
    pub fn resolve(&self, path: &AttrPath) -> Option<Resolved<'_>> {
        let (extension, attr) = match &path.uri {
            None => (None, self.core_attribute(&path.name)?),
            Some(uri) if uri.eq_ignore_ascii_case(&self.core.id) => {
                (None, self.core_attribute(&path.name)?)
            }
            Some(uri) => {
                let ext = self.extension(uri)?;
                (Some(&*ext.schema), ext.schema.attribute(&path.name)?)
            }
        };
        let sub = match &path.sub_attr {
            None => None,
            Some(s) => Some(attr.sub(s)?),
        };
        Some(Resolved {
            extension,
            attr,
            sub,
        })
    }

    /// Resolve a dotted or URN-qualified attribute string as used in
    /// `attributes=`, `sortBy=` and Entra's path-less PATCH keys
    /// (`name.givenName`, `urn:…:enterprise:2.0:User:department`, or a bare
    /// extension URN, which yields `Ok(None)`).
    pub fn resolve_str(&self, s: &str) -> Result<Option<Resolved<'_>>> {
        let path = crate::filter::parse_attr_path(s)
            .map_err(|e| ScimError::invalid_value(format!("invalid attribute name {s:?}: {e}")))?;
        match path {
            None => Ok(None),
            Some(p) => self
                .resolve(&p)
                .map(Some)
                .ok_or_else(|| ScimError::invalid_value(format!("unknown attribute {s:?}"))),
        }
    }

    /// The `/ResourceTypes/{name}` representation.
    pub fn resource_type_json(&self, location: &str) -> Value {
        json!({
            "schemas": [RESOURCE_TYPE_SCHEMA],
            "id": self.kind.as_str(),
            "name": self.kind.as_str(),
            "endpoint": self.kind.endpoint(),
            "description": match self.kind {
                ResourceKind::User => "User Account",
                ResourceKind::Group => "Group",
            },
            "schema": self.core.id,
            "schemaExtensions": self.extensions.iter().map(|e| json!({
                "schema": e.schema.id,
                "required": e.required,
            })).collect::<Vec<_>>(),
            "meta": {"resourceType": "ResourceType", "location": location},
        })
    }
}

/// The schemas of all resource kinds served, built once by the server builder.
#[derive(Debug, Clone)]
pub struct Registry {
    user: Arc<ResourceSchema>,
    group: Arc<ResourceSchema>,
}

impl Default for Registry {
    fn default() -> Self {
        Self::new(Vec::new(), Vec::new())
    }
}

impl Registry {
    /// The built-in schemas plus custom extensions. The EnterpriseUser extension is
    /// always registered on User.
    pub fn new(user_extensions: Vec<Extension>, group_extensions: Vec<Extension>) -> Self {
        let mut ue = vec![Extension {
            schema: Arc::new(builtin::enterprise_user_schema()),
            required: false,
        }];
        ue.extend(user_extensions);
        Self {
            user: Arc::new(ResourceSchema::new(
                ResourceKind::User,
                Arc::new(builtin::user_schema()),
                ue,
            )),
            group: Arc::new(ResourceSchema::new(
                ResourceKind::Group,
                Arc::new(builtin::group_schema()),
                group_extensions,
            )),
        }
    }

    /// The schema of one kind.
    pub fn get(&self, kind: ResourceKind) -> &Arc<ResourceSchema> {
        match kind {
            ResourceKind::User => &self.user,
            ResourceKind::Group => &self.group,
        }
    }

    /// Every distinct schema (core schemas then extensions), for `/Schemas`.
    pub fn all_schemas(&self) -> Vec<&Schema> {
        let mut out: Vec<&Schema> = vec![&self.user.core, &self.group.core];
        for rs in [&self.user, &self.group] {
            for e in &rs.extensions {
                if !out.iter().any(|s| s.id.eq_ignore_ascii_case(&e.schema.id)) {
                    out.push(&e.schema);
                }
            }
        }
        out
    }

    /// Find a schema by URN, case-insensitively.
    pub fn schema(&self, urn: &str) -> Option<&Schema> {
        self.all_schemas()
            .into_iter()
            .find(|s| s.id.eq_ignore_ascii_case(urn))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_case_insensitively_to_canonical_names() {
        let reg = Registry::default();
        let user = reg.get(ResourceKind::User);
        let p = AttrPath::new(None, "USERNAME", None);
        assert_eq!(
            user.resolve(&p).unwrap().canonical_path().to_string(),
            "userName"
        );
        let p = AttrPath::new(None, "name", Some("GIVENNAME"));
        assert_eq!(
            user.resolve(&p).unwrap().canonical_path().to_string(),
            "name.givenName"
        );
        let p = AttrPath::new(
            Some("URN:ietf:params:scim:schemas:extension:enterprise:2.0:user"),
            "Department",
            None,
        );
        let r = user.resolve(&p).unwrap();
        assert_eq!(r.extension.unwrap().id, ENTERPRISE_USER_SCHEMA);
        assert_eq!(r.attr.name, "department");
        let p = AttrPath::new(Some(USER_SCHEMA), "emails", Some("value"));
        assert!(user.resolve(&p).unwrap().extension.is_none());
        assert!(user.resolve(&AttrPath::new(None, "nope", None)).is_none());
        assert!(
            user.resolve(&AttrPath::new(None, "meta", Some("lastModified")))
                .is_some()
        );
    }

    #[test]
    fn schema_json_round_trips() {
        let s = builtin::user_schema();
        let back = Schema::from_json(&s.to_json("/Schemas/x")).unwrap();
        assert_eq!(back, s);
    }

    #[test]
    fn attribute_names_follow_rfc_7643_2_1() {
        assert!(is_valid_attr_name("userName"));
        assert!(is_valid_attr_name("x-y_1"));
        assert!(is_valid_attr_name("$ref"));
        assert!(!is_valid_attr_name("1abc"));
        assert!(!is_valid_attr_name(""));
        assert!(!is_valid_attr_name("a.b"));
    }
}
