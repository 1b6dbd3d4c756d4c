# WebSands container images, all on Debian 12 (bookworm).
#
#   docker build --target runtime -t websands:0.1.0 .
#       the responders, the mailer and the websands tool; the command
#       chooses the program (see docker-compose.yml, deploy/k8s/)
#   docker build --target web -t websands-web:0.1.0 .
#       nginx in front of them, with fcgi-conf/nginx/production.conf
#
# Both run as an unprivileged user.  The build stage has the compiler
# and headers; the others have only the run-time libraries.

# ---- build: compile and install into /out ----
FROM debian:12-slim AS build
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        gcc make cmake pkg-config libfcgi-dev libpq-dev libjansson-dev \
        libsodium-dev libssl-dev libmemcached-dev libcrypt-dev \
        libcurl4-openssl-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
# An FHS install under /usr, with the programs' default SQL_DIR and
# TEMPLATE_DIR pointing where the files are installed; no tests.
RUN cmake -S . -B /build -DCMAKE_BUILD_TYPE=Release \
        -DWEBSANDS_TESTS=OFF -DCMAKE_INSTALL_PREFIX=/usr \
        -DWEBSANDS_SQL_DIR=/usr/share/websands/sql \
        -DWEBSANDS_TEMPLATE_DIR=/usr/share/websands/templates \
    && cmake --build /build -j "$(nproc)" \
    && DESTDIR=/out cmake --install /build --strip

# ---- runtime: the WebSands programs ----
FROM debian:12-slim AS runtime
# The shared libraries the programs link, CA certificates for SMTP and
# PostgreSQL over TLS, and cgi-fcgi (libfcgi-bin) for health checks
# that speak FastCGI to a responder.
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        libfcgi0ldbl libpq5 libjansson4 libsodium23 libssl3 \
        libmemcached11 libcurl4 libcrypt1 ca-certificates libfcgi-bin \
    && rm -rf /var/lib/apt/lists/*
# A fixed uid/gid, so files mounted into the container (the data keys)
# can be given to it.
RUN groupadd --system --gid 10001 websands \
    && useradd --system --uid 10001 --gid websands \
        --home-dir /nonexistent --shell /usr/sbin/nologin websands
COPY --from=build /out/usr/ /usr/
# METRICS_DIR (shared by the processes of one container or pod) and
# KEYS_DIR (a volume in docker-compose.yml) belong to the user.
RUN mkdir -p /run/websands/metrics /var/lib/websands/keys \
    && chown -R websands:websands /run/websands /var/lib/websands \
    && chmod 700 /var/lib/websands/keys
ENV METRICS_DIR=/run/websands/metrics \
    KEYS_DIR=/var/lib/websands/keys \
    SQL_DIR=/usr/share/websands/sql \
    TEMPLATE_DIR=/usr/share/websands/templates \
    PASSWORD_DENYLIST=/usr/share/websands/data/common-passwords.txt
USER 10001:10001
# Every responder listens on 9000 in its own container.
EXPOSE 9000
# SIGTERM is the responders' graceful stop.
STOPSIGNAL SIGTERM
CMD ["websands-health", "--listen", "0.0.0.0:9000"]

# ---- web: nginx in front of the responders ----
FROM debian:12-slim AS web
RUN apt-get update \
    && apt-get install -y --no-install-recommends nginx-light curl \
        ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && rm -f /etc/nginx/sites-enabled/default
# The production configuration, with the two changes a container
# needs: unprivileged ports (8080, 8443; publish them as 80 and 443),
# and one upstream server per responder, the service name, which
# resolves to every replica (docker-compose up --scale users=3).
COPY fcgi-conf/nginx/production.conf /etc/nginx/conf.d/websands.conf
RUN sed -i \
        -e 's/listen 80;/listen 8080;/' \
        -e 's/listen \[::\]:80;/listen [::]:8080;/' \
        -e 's/listen 443 ssl;/listen 8443 ssl;/' \
        -e 's/listen \[::\]:443 ssl;/listen [::]:8443 ssl;/' \
        -e 's/127\.0\.0\.1:9101/auth:9000/' \
        -e 's/127\.0\.0\.1:9201/users:9000/' \
        -e 's/127\.0\.0\.1:9301/admin:9000/' \
        -e 's/127\.0\.0\.1:9401/health:9000/' \
        -e '/127\.0\.0\.1:9[1-4]02/d' \
        /etc/nginx/conf.d/websands.conf \
    && printf '%s\n' \
        '# nginx main configuration of the websands-web image.' \
        'pid /run/nginx/nginx.pid;' \
        'worker_processes auto;' \
        'error_log stderr warn;' \
        'events { worker_connections 1024; }' \
        'http {' \
        '    access_log /dev/stdout;' \
        '    client_body_temp_path /var/lib/nginx/body;' \
        '    fastcgi_temp_path /var/lib/nginx/fastcgi;' \
        '    proxy_temp_path /var/lib/nginx/proxy;' \
        '    uwsgi_temp_path /var/lib/nginx/uwsgi;' \
        '    scgi_temp_path /var/lib/nginx/scgi;' \
        '    include /etc/nginx/conf.d/*.conf;' \
        '}' >/etc/nginx/nginx.conf \
    && mkdir -p /run/nginx /var/lib/nginx \
    && chown -R www-data:www-data /run/nginx /var/lib/nginx /var/log/nginx
USER 33:33
EXPOSE 8080 8443
# nginx's graceful stop.
STOPSIGNAL SIGQUIT
CMD ["nginx", "-g", "daemon off;"]
