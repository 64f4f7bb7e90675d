# Sourced by the stage scripts whose tests need PostgreSQL server binaries
# (the tests start their own throw-away server: initdb + pg_ctl on loopback).
# Installs the Debian `postgresql` package when they are missing, and sets
# SCIMKIT_REQUIRE_POSTGRES=1 so that those tests fail, not skip, when no
# server can be started.
if ! compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null; then
  echo "--> PostgreSQL is not installed: installing the Debian package"
  if [ "$(id -u)" -ne 0 ]; then pg_sudo=(sudo); else pg_sudo=(); fi
  "${pg_sudo[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${pg_sudo[@]}" apt-get install -y -qq --no-install-recommends postgresql
fi
export SCIMKIT_REQUIRE_POSTGRES=1
