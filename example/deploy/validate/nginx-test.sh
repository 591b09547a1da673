#!/usr/bin/env bash
# nginx -t on the deploy configs. nginx resolves upstream names and reads
# the certificates while testing, so each config is tested on a copy whose
# upstream hosts point at 127.0.0.1 and whose certificates are generated
# here for localhost.
set -euo pipefail
cd "$(dirname "$0")/.."
NGINX=${NGINX:-$(command -v nginx || echo /usr/sbin/nginx)}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=localhost \
  -keyout "$tmp/key.pem" -out "$tmp/cert.pem" 2>/dev/null
mkdir -p "$tmp/logs"
for conf in nginx/*.conf; do
  sed -E -e 's#^([[:space:]]*server[[:space:]]+)[A-Za-z0-9_.-]+(:[0-9]+;)#\1127.0.0.1\2#' \
         -e "s#ssl_certificate[[:space:]]+[^;]+;#ssl_certificate $tmp/cert.pem;#" \
         -e "s#ssl_certificate_key[[:space:]]+[^;]+;#ssl_certificate_key $tmp/key.pem;#" \
         "$conf" > "$tmp/site.conf"
  cat > "$tmp/nginx.conf" <<CONF
pid $tmp/nginx.pid;
error_log $tmp/logs/error.log;
events {}
http {
  access_log off;
  client_body_temp_path $tmp/body;
  proxy_temp_path $tmp/proxy;
  fastcgi_temp_path $tmp/fastcgi;
  uwsgi_temp_path $tmp/uwsgi;
  scgi_temp_path $tmp/scgi;
  include $tmp/site.conf;
}
CONF
  "$NGINX" -t -q -p "$tmp" -c "$tmp/nginx.conf"
  echo "nginx -t: $conf ok"
done
