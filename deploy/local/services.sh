#!/usr/bin/env bash
# Local services for development and tests: PostgreSQL, Redis and PgBouncer,
# each on a loopback port of its own with every file under .data/, so they never
# clash with a system service. Installs what is missing with apt.
#
#   deploy/local/services.sh up      install if needed, start (reuses what runs)
#   deploy/local/services.sh browser install Chromium for the browser tests if
#                                    missing (make test does it; make run does not)
#   deploy/local/services.sh stripe  install stripe-mock for the payment tests if
#                                    missing (make test does it)
#   deploy/local/services.sh down    stop
#   deploy/local/services.sh env     print DATABASE_URL=… and friends, one per line
#   deploy/local/services.sh clean   stop and remove .data/
#   deploy/local/services.sh sweep   drop test databases and roles killed runs left
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
data="$root/.data"

pg_port=${STOREFLEET_PG_PORT:-54329}
redis_port=${STOREFLEET_REDIS_PORT:-63799}
bouncer_port=${STOREFLEET_PGBOUNCER_PORT:-64329}
db_user=storefleet
db_name=storefleet

pg_data="$data/pg"
pg_run="$data/pg-run"
redis_dir="$data/redis"
bouncer_dir="$data/pgbouncer"

say() { printf '%s\n' "$*" >&2; }
die() { say "services: $*"; exit 1; }

pg_bin() {
	local d
	for d in /usr/lib/postgresql/*/bin; do
		[ -x "$d/pg_ctl" ] && { echo "$d"; return; }
	done
	command -v pg_ctl >/dev/null 2>&1 && dirname "$(command -v pg_ctl)"
}

# as_pg runs a command as the OS user that owns the cluster: PostgreSQL refuses
# to run as root, so root hands it to the postgres user.
as_pg() {
	if [ "$(id -u)" -eq 0 ]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

apt_install() {
	local sudo=""
	[ "$(id -u)" -eq 0 ] || sudo="sudo"
	command -v apt-get >/dev/null 2>&1 || die "missing $*, and there is no apt-get to install it; install $* by hand"
	say "installing $* with apt-get"
	if [ ! -f "$data/.apt-updated" ]; then
		$sudo apt-get update -qq >&2
		mkdir -p "$data" && touch "$data/.apt-updated"
	fi
	if ! DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "$@" >&2; then
		# The package lists may be older than the mirror (chromium moves on
		# with each security release): refresh them and try once more.
		say "apt-get install failed; updating the package lists and trying again"
		$sudo apt-get update -qq >&2
		touch "$data/.apt-updated"
		DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "$@" >&2
	fi
}

install_missing() {
	local want=()
	[ -n "$(pg_bin)" ] || want+=(postgresql)
	command -v redis-server >/dev/null 2>&1 || want+=(redis-server)
	command -v pgbouncer >/dev/null 2>&1 || want+=(pgbouncer)
	[ ${#want[@]} -eq 0 ] || apt_install "${want[@]}"
	# apt starts the system services on install; ours use other ports, so they do
	# not clash, and we leave the system's own alone.
}

# chromium is the browser internal/browser drives; $CHROMIUM_PATH overrides the
# path there and here.
chromium=${CHROMIUM_PATH:-/usr/bin/chromium}

# browser_up installs Debian's chromium when it is missing. Only the tests need
# it, so it is not part of up: make run stays quick on a machine without it.
browser_up() {
	if [ -x "$chromium" ]; then
		return
	fi
	[ "$chromium" = /usr/bin/chromium ] ||
		die "CHROMIUM_PATH=$chromium is not an executable; unset it to install Debian's chromium"
	apt_install chromium
	[ -x "$chromium" ] || die "installed chromium, but there is still no $chromium"
	say "installed $("$chromium" --version 2>/dev/null || echo chromium)"
}

# stripe_mock_version is the stripe-mock release whose API matches the
# version stripe-go v76 speaks (2023-10-16); internal/testenv runs it.
stripe_mock_version=v0.185.0

# stripe_up installs stripe-mock into $(go env GOPATH)/bin when it is missing.
stripe_up() {
	command -v go >/dev/null 2>&1 || die "stripe-mock is installed with go, and there is no go on PATH"
	local bin
	bin="$(go env GOPATH | cut -d: -f1)/bin/stripe-mock"
	[ -x "$bin" ] && return
	say "installing stripe-mock $stripe_mock_version with go install"
	(cd / && go install "github.com/stripe/stripe-mock@$stripe_mock_version") ||
		die "could not install stripe-mock $stripe_mock_version"
	[ -x "$bin" ] || die "installed stripe-mock, but there is still no $bin"
}

# pg_owner_ready makes .data/pg usable by the postgres user when we run as root:
# it must be able to reach the folder through every parent.
pg_owner_ready() {
	mkdir -p "$pg_data" "$pg_run"
	if [ "$(id -u)" -eq 0 ]; then
		id postgres >/dev/null 2>&1 || die "no 'postgres' OS user to run PostgreSQL as (install the postgresql package)"
		chown postgres: "$pg_data" "$pg_run"
		chmod 700 "$pg_data"
		if ! runuser -u postgres -- test -x "$pg_data"; then
			# A clone under a private home folder: let others pass through (not
			# list or read) each parent folder on the way.
			local d="$data"
			while [ "$d" != "/" ]; do
				if ! runuser -u postgres -- test -x "$d"; then
					say "letting the postgres user pass through $d (chmod o+x)"
					chmod o+x "$d"
				fi
				d=$(dirname "$d")
			done
			runuser -u postgres -- test -x "$pg_data" ||
				die "the postgres user cannot reach $pg_data; clone the project somewhere it can"
		fi
	fi
}

pg_up() {
	local bin
	bin=$(pg_bin)
	pg_owner_ready
	if [ ! -s "$pg_data/PG_VERSION" ]; then
		say "initialising PostgreSQL in $pg_data"
		as_pg "$bin/initdb" -D "$pg_data" -U postgres --auth=trust --encoding=UTF8 --locale=C.UTF-8 >/dev/null
		cat >>"$pg_data/postgresql.conf" <<-EOF
			listen_addresses = '127.0.0.1'
			port = $pg_port
			unix_socket_directories = '$pg_run'
			max_connections = 300
			shared_buffers = 256MB
			fsync = off
			synchronous_commit = off
			full_page_writes = off
			max_locks_per_transaction = 256
			log_min_messages = warning
		EOF
	fi
	if ! as_pg "$bin/pg_ctl" -D "$pg_data" status >/dev/null 2>&1; then
		say "starting PostgreSQL on 127.0.0.1:$pg_port"
		as_pg "$bin/pg_ctl" -D "$pg_data" -l "$pg_data/server.log" -w -t 60 start >/dev/null ||
			die "PostgreSQL did not start; see $pg_data/server.log"
	fi
	local psql=("$bin/psql" -h 127.0.0.1 -p "$pg_port" -U postgres -d postgres -qtAX -v ON_ERROR_STOP=1)
	if [ "$("${psql[@]}" -c "select 1 from pg_roles where rolname = '$db_user'")" != 1 ]; then
		# The application's own role: it creates a role and a schema per store,
		# and databases for tests, but it is not a superuser.
		"${psql[@]}" -c "create role $db_user login createrole createdb"
	fi
	# Tests drop their databases WITH (FORCE), which must end every backend
	# still on them, whatever role it has switched to.
	"${psql[@]}" -c "grant pg_signal_backend to $db_user"
	if [ "$("${psql[@]}" -c "select 1 from pg_database where datname = '$db_name'")" != 1 ]; then
		"${psql[@]}" -c "create database $db_name owner $db_user"
	fi
}

redis_up() {
	mkdir -p "$redis_dir"
	if redis-cli -h 127.0.0.1 -p "$redis_port" ping >/dev/null 2>&1; then
		return
	fi
	say "starting Redis on 127.0.0.1:$redis_port"
	redis-server --bind 127.0.0.1 --port "$redis_port" --dir "$redis_dir" \
		--daemonize yes --pidfile "$redis_dir/redis.pid" --logfile "$redis_dir/redis.log" \
		--appendonly yes --save "" >/dev/null
	local i
	for i in $(seq 1 50); do
		redis-cli -h 127.0.0.1 -p "$redis_port" ping >/dev/null 2>&1 && return
		sleep 0.1
	done
	die "Redis did not start; see $redis_dir/redis.log"
}

# PgBouncer in transaction pooling mode, in front of the same cluster: the
# tests run the tenant door through it, as production does.
bouncer_up() {
	mkdir -p "$bouncer_dir"
	if [ -f "$bouncer_dir/pgbouncer.pid" ] && kill -0 "$(cat "$bouncer_dir/pgbouncer.pid")" 2>/dev/null; then
		return
	fi
	cat >"$bouncer_dir/pgbouncer.ini" <<-EOF
		[databases]
		* = host=127.0.0.1 port=$pg_port
		[pgbouncer]
		listen_addr = 127.0.0.1
		listen_port = $bouncer_port
		unix_socket_dir =
		auth_type = trust
		auth_file = $bouncer_dir/userlist.txt
		pool_mode = transaction
		max_client_conn = 500
		default_pool_size = 20
		ignore_startup_parameters = extra_float_digits,search_path
		logfile = $bouncer_dir/pgbouncer.log
		pidfile = $bouncer_dir/pgbouncer.pid
	EOF
	printf '"%s" ""\n"postgres" ""\n' "$db_user" >"$bouncer_dir/userlist.txt"
	local user=()
	if [ "$(id -u)" -eq 0 ]; then
		chown -R postgres: "$bouncer_dir"
		user=(runuser -u postgres --)
	fi
	say "starting PgBouncer on 127.0.0.1:$bouncer_port"
	"${user[@]}" pgbouncer -d "$bouncer_dir/pgbouncer.ini" >/dev/null ||
		die "PgBouncer did not start; see $bouncer_dir/pgbouncer.log"
}

# sweep drops what killed test and bench runs left behind: their databases,
# and the cluster-wide store roles of test databases (ids from 1,000,000 up,
# see internal/testenv; the bench's are far above). Run it only when no tests
# or benches are running.
sweep() {
	local bin
	bin=$(pg_bin)
	"$bin/psql" -h 127.0.0.1 -p "$pg_port" -U postgres -d postgres -qtAX -v ON_ERROR_STOP=1 <<-'EOF'
		SELECT format('DROP DATABASE %I WITH (FORCE)', datname) FROM pg_database WHERE datname ~ '^(sf_(test|shard)_|storefleet_bench_)' \gexec
		SELECT format('DROP ROLE %I', rolname) FROM pg_roles WHERE rolname ~ '^t_[0-9]{7,}$' \gexec
	EOF
}

down() {
	local bin
	bin=$(pg_bin)
	if [ -n "$bin" ] && [ -s "$pg_data/PG_VERSION" ]; then
		as_pg "$bin/pg_ctl" -D "$pg_data" -m fast -w stop >/dev/null 2>&1 && say "stopped PostgreSQL" || true
	fi
	if command -v redis-cli >/dev/null 2>&1 && redis-cli -h 127.0.0.1 -p "$redis_port" ping >/dev/null 2>&1; then
		redis-cli -h 127.0.0.1 -p "$redis_port" shutdown nosave >/dev/null 2>&1 || true
		say "stopped Redis"
	fi
	if [ -f "$bouncer_dir/pgbouncer.pid" ]; then
		kill "$(cat "$bouncer_dir/pgbouncer.pid")" 2>/dev/null && say "stopped PgBouncer" || true
		rm -f "$bouncer_dir/pgbouncer.pid"
	fi
}

print_env() {
	echo "DATABASE_URL=postgres://$db_user@127.0.0.1:$pg_port/$db_name?sslmode=disable"
	echo "REDIS_URL=redis://127.0.0.1:$redis_port/0"
	echo "PGBOUNCER_URL=postgres://$db_user@127.0.0.1:$bouncer_port/$db_name?sslmode=disable&default_query_exec_mode=exec"
}

case "${1:-}" in
up)
	install_missing
	pg_up
	redis_up
	bouncer_up
	;;
browser) browser_up ;;
stripe) stripe_up ;;
down) down ;;
sweep) sweep ;;
env) print_env ;;
clean)
	down
	rm -rf "$data"
	say "removed $data"
	;;
*) die "usage: $0 up|browser|stripe|down|env|clean|sweep" ;;
esac
