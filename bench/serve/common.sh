# What bench/serve/proxy.sh and bench/serve/cost.sh share: the fake
# upstream, nginx's configuration, copilot-serve started on the upstream.
# Sourced; uses HERE, BENCH_BIN and UP.

# Every process a goal starts goes in PIDS and is stopped when it exits.
PIDS=()
stop_pids() {
  local p
  for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
}
trap stop_pids EXIT

wait_file() { for _ in $(seq 200); do [[ -s "$1" ]] && return 0; sleep 0.05; done; return 1; }
wait_port() { for _ in $(seq 200); do curl -s -o /dev/null --noproxy '*' -m 1 "http://127.0.0.1:$1/" && return 0; sleep 0.05; done; return 1; }

# --- the upstream
# Not in a $(…): PIDS and UP_PID must be set in this shell.
start_upstream() {  # DIR ARGS...: sets UP_PORT and UP_PID
  local d="$1"; shift
  mkdir -p "$d"
  node "$HERE/upstream.js" --port-file "$d/port" --watch-pid $$ "$@" </dev/null >"$d/out" 2>&1 &
  UP_PID=$!
  PIDS+=("$UP_PID")
  wait_file "$d/port" || die "upstream.js did not start: $(cat "$d/out")"
  UP_PORT="$(cat "$d/port")"
}

# free_port: a free loopback port from the kernel (nginx cannot listen on
# port 0 and report it).
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# nginx_conf DIR UP_PORT PORT [single]: nginx's prefix, config, pid and logs
# in DIR, not a daemon; "single": one process (no master, one worker), as
# callgrind can follow it.
nginx_conf() {
  local d="$1" up="$2" port="$3" master=on workers=auto
  [[ "${4:-}" == single ]] && master=off workers=1
  mkdir -p "$d/logs" "$d/tmp"
  cat >"$d/nginx.conf" <<EOF
daemon off;
master_process $master;
worker_processes $workers;
pid $d/nginx.pid;
error_log $d/logs/error.log warn;
worker_rlimit_nofile 8192;
events { worker_connections 4096; }
http {
  access_log $d/logs/access.log;
  client_body_temp_path $d/tmp/body;
  proxy_temp_path $d/tmp/proxy;
  fastcgi_temp_path $d/tmp/fastcgi;
  uwsgi_temp_path $d/tmp/uwsgi;
  scgi_temp_path $d/tmp/scgi;
  keepalive_requests 1000000;
  upstream fake { server 127.0.0.1:$up; keepalive 64; }
  server {
    listen 127.0.0.1:$port;
    location / {
      proxy_pass http://fake;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_buffering off;
      proxy_request_buffering off;
    }
  }
}
EOF
}

# --- copilot-serve: the GitHub token from the environment, its hosts the upstream.
serve_start() {  # DIR ARGS...: sets SERVE_PID and SERVE_URL; BENCH_SERVE_WRAP runs it under a tool
  local d="$1"; shift
  mkdir -p "$d/home"
  HOME="$d/home" XDG_CONFIG_HOME="$d/home/.config" XDG_CACHE_HOME="$d/home/.cache" \
    GITHUB_COPILOT_TOKEN=ghu_bench COPILOT_GITHUB_API_URL="$UP" COPILOT_API_URL="$UP" \
    ${BENCH_SERVE_WRAP:-} "$BENCH_BIN/copilot-serve" --listen 127.0.0.1:0 --max-connections 1100 --max-connections-per-client 1100 "$@" </dev/null 2>"$d/err" &
  PIDS+=($!)
  SERVE_PID=$!
  SERVE_URL=""
  for _ in $(seq 600); do
    SERVE_URL="$(sed -n 's|^copilot-serve: listening on \(http://.*\)$|\1|p' "$d/err")"
    [[ -n "$SERVE_URL" ]] && break
    sleep 0.05
  done
  [[ -n "$SERVE_URL" ]] || die "copilot-serve did not start: $(cat "$d/err")"
}
