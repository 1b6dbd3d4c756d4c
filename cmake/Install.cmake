# Install rules for an FHS layout, for `cmake --install` and for the
# packages CPack makes (cmake/Packaging.cmake).  Under the prefix
# (/usr for a package, /usr/local by default):
#   bin/                           the responders, the mailer, websands
#                                  (their rules are beside the targets)
#   share/websands/sql/            the migrations   (SQL_DIR)
#   share/websands/templates/      the mail templates (TEMPLATE_DIR)
#   share/websands/data/           the common-password list
#   share/man/man1/                one page per program
#   share/doc/websands/            README.md, operations.md
#   share/doc/websands/examples/   the web server, systemd and
#                                  spawn-fcgi configurations, the
#                                  container and Kubernetes files
#
# The programs' compiled-in defaults for SQL_DIR and TEMPLATE_DIR are
# the source tree's unless the build is configured with
#   -DWEBSANDS_SQL_DIR=/usr/share/websands/sql
#   -DWEBSANDS_TEMPLATE_DIR=/usr/share/websands/templates
# (a package build should be); the example env file sets both anyway.
include(GNUInstallDirs)

set(WEBSANDS_SHARE_DIR ${CMAKE_INSTALL_DATADIR}/websands)

install(DIRECTORY ${CMAKE_SOURCE_DIR}/sql/
    DESTINATION ${WEBSANDS_SHARE_DIR}/sql
    FILES_MATCHING PATTERN "*.sql")
install(DIRECTORY ${CMAKE_SOURCE_DIR}/templates/
    DESTINATION ${WEBSANDS_SHARE_DIR}/templates)
install(DIRECTORY ${CMAKE_SOURCE_DIR}/data/
    DESTINATION ${WEBSANDS_SHARE_DIR}/data)

file(GLOB WEBSANDS_MAN_PAGES CONFIGURE_DEPENDS
    ${CMAKE_SOURCE_DIR}/docs/man/*.1)
install(FILES ${WEBSANDS_MAN_PAGES}
    DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)

install(FILES ${CMAKE_SOURCE_DIR}/README.md
    ${CMAKE_SOURCE_DIR}/docs/operations.md
    DESTINATION ${CMAKE_INSTALL_DOCDIR})
# The example configurations; websands.conf.in is the local stack's
# nginx template with placeholders, not an example.
install(DIRECTORY ${CMAKE_SOURCE_DIR}/fcgi-conf/
    DESTINATION ${CMAKE_INSTALL_DOCDIR}/examples
    PATTERN "*.in" EXCLUDE
    PATTERN "websands-spawn" PERMISSIONS OWNER_READ OWNER_WRITE
    OWNER_EXECUTE GROUP_READ GROUP_EXECUTE WORLD_READ WORLD_EXECUTE)
install(FILES ${CMAKE_SOURCE_DIR}/Dockerfile
    ${CMAKE_SOURCE_DIR}/docker-compose.yml
    DESTINATION ${CMAKE_INSTALL_DOCDIR}/examples/container)
install(DIRECTORY ${CMAKE_SOURCE_DIR}/deploy/k8s/
    DESTINATION ${CMAKE_INSTALL_DOCDIR}/examples/k8s
    FILES_MATCHING PATTERN "*.yaml")
