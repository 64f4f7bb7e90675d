//! `scimkit token …`, `scimkit tenant …`, `scimkit admin …` and
//! `scimkit log …`: the server's tables from the command line (also while a
//! server runs on the same file, or servers on the same PostgreSQL database).

use std::io::{BufRead as _, IsTerminal as _, Write as _};

use scimkit::{LogQuery, Outcome};

use crate::Error;
use crate::cli::{AdminCommand, DbSettings, LogCommand, TenantCommand, TokenCommand};
use crate::db::AdminDb;
use crate::provlog::parse_time;

/// The shortest admin password accepted.
pub(crate) const MIN_PASSWORD_LEN: usize = 12;

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

/// Run an `admin` command.
pub(crate) fn admin(cmd: AdminCommand, db: &DbSettings) -> Result<(), Error> {
    match cmd {
        AdminCommand::SetPassword => {
            let password = read_password()?;
            check_password(&password)?;
            let hash = scimkit::auth::hash_password(&password)
                .map_err(|e| format!("cannot hash the password: {e}"))?;
            let admin = open(db)?;
            admin.set_admin_password_hash(&hash)?;
            admin.close()?;
            println!(
                "Admin password set (only an Argon2id hash is stored). Open sessions have ended; log in at /admin."
            );
            Ok(())
        }
    }
}

/// Whether a password is acceptable for the admin page.
pub(crate) fn check_password(p: &str) -> Result<(), Error> {
    if p.chars().count() < MIN_PASSWORD_LEN {
        return Err(
            format!("the admin password must have at least {MIN_PASSWORD_LEN} characters").into(),
        );
    }
    Ok(())
}

/// The new password: prompted twice without echo on a terminal, else the first
/// line of standard input.
fn read_password() -> Result<String, Error> {
    if std::io::stdin().is_terminal() {
        let a = rpassword::prompt_password("New admin password: ")?;
        let b = rpassword::prompt_password("Repeat it: ")?;
        if a != b {
            return Err("the two passwords differ".into());
        }
        Ok(a)
    } else {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        Ok(line.trim_end_matches(['\r', '\n']).to_owned())
    }
}

/// Run a `log` command.
pub(crate) fn log(cmd: LogCommand, db: &DbSettings) -> Result<(), Error> {
    match cmd {
        LogCommand::Export {
            tenant,
            since,
            until,
            name,
            outcome,
        } => {
            let query = LogQuery {
                tenant,
                since: since.as_deref().map(parse_time).transpose()?,
                until: until.as_deref().map(parse_time).transpose()?,
                name,
                outcome: outcome.as_deref().and_then(Outcome::parse),
                ..Default::default()
            };
            // Open through the store first: refuses a file that is not scimkit's.
            let admin = open(db)?;
            let log = crate::store::open_log(&db.database, &admin)?;
            let mut out = std::io::BufWriter::new(std::io::stdout().lock());
            let n = log.export(&query, &mut out)?;
            drop(out);
            drop(log);
            admin.close()?;
            eprintln!("scimkit: exported {n} log entries");
            Ok(())
        }
    }
}
