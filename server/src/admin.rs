//! `scimkit token …` and `scimkit tenant …`: the server's tables from the
//! command line (also while a server runs on the same file).

use std::io::Write as _;

use crate::Error;
use crate::cli::{DbSettings, TenantCommand, TokenCommand};
use crate::db::AdminDb;

fn open(db: &DbSettings) -> Result<AdminDb, Error> {
    // The store is opened (and so a new file created) first; see `open_database`.
    let (_store, admin) = crate::store::open_database(&db.database)?;
    Ok(admin)
}

/// Run a `token` command.
pub(crate) fn token(cmd: TokenCommand, db: &DbSettings) -> Result<(), Error> {
    let admin = open(db)?;
    let mut out = std::io::stdout().lock();
    match cmd {
        TokenCommand::Create { tenant, label } => {
            let t = admin.create_token(&tenant, label.as_deref())?;
            writeln!(out, "Created token {} for tenant \"{}\".", t.id, t.tenant)?;
            writeln!(
                out,
                "It is shown only this once (only its SHA-256 is stored):"
            )?;
            writeln!(out)?;
            writeln!(out, "    {}", t.secret)?;
            writeln!(out)?;
            writeln!(
                out,
                "Paste it into Entra as the Secret Token (Provisioning > Admin Credentials)."
            )?;
        }
        TokenCommand::List { tenant } => {
            let rows = admin.list_tokens(tenant.as_deref())?;
            writeln!(
                out,
                "{:<10}{:<20}{:<26}{:<26}LABEL",
                "ID", "TENANT", "CREATED", "REVOKED"
            )?;
            for r in rows {
                writeln!(
                    out,
                    "{:<10}{:<20}{:<26}{:<26}{}",
                    r.id,
                    r.tenant,
                    r.created,
                    r.revoked.as_deref().unwrap_or("-"),
                    r.label.as_deref().unwrap_or("")
                )?;
            }
        }
        TokenCommand::Revoke { id } => {
            let tenant = admin.revoke_token(&id)?;
            writeln!(out, "Revoked token {id} of tenant \"{tenant}\".")?;
        }
    }
    drop(out);
    admin.close()?;
    Ok(())
}

/// Run a `tenant` command.
pub(crate) fn tenant(cmd: TenantCommand, db: &DbSettings) -> Result<(), Error> {
    let admin = open(db)?;
    let mut out = std::io::stdout().lock();
    match cmd {
        TenantCommand::Create { name } => {
            admin.create_tenant(&name)?;
            writeln!(
                out,
                "Created tenant \"{name}\". Give it a token: scimkit token create --tenant {name}"
            )?;
        }
        TenantCommand::List => {
            writeln!(out, "{:<20}{:<26}ACTIVE TOKENS", "TENANT", "CREATED")?;
            for r in admin.list_tenants()? {
                writeln!(out, "{:<20}{:<26}{}", r.name, r.created, r.active_tokens)?;
            }
        }
    }
    drop(out);
    admin.close()?;
    Ok(())
}
