# `cpack -G DEB` in a build directory makes websands_VERSION_ARCH.deb
# from the install rules (cmake/Install.cmake and the programs' own).
# The package holds the programs, man pages, migrations, templates and
# examples; it creates no user and starts nothing: docs/operations.md
# walks through both.
set(CPACK_PACKAGE_NAME websands)
set(CPACK_PACKAGE_VENDOR "WebSands")
set(CPACK_PACKAGE_CONTACT "WebSands maintainers <websands@example.org>")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "authentication and user-management backend (FastCGI responders)")
set(CPACK_PACKAGE_DESCRIPTION
    "WebSands is an authentication and user-management backend written in C: registration, email verification, login with lockout, MFA, rotating refresh tokens, password reset, the signed-in user's own account and user management.  It runs as small FastCGI responders behind nginx, Apache, lighttpd or plain CGI, with PostgreSQL and memcached.")
set(CPACK_GENERATOR DEB)
# A package installs under /usr, whatever CMAKE_INSTALL_PREFIX says.
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
# Smaller binaries without the debug sections.
set(CPACK_STRIP_FILES ON)

# websands_0.1.0_amd64.deb, Debian's own naming.
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION web)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
# The shared libraries the programs link, by their Debian 12 package
# names (FastCGI, libpq, jansson, libsodium, OpenSSL, libmemcached,
# libcurl, libcrypt).
set(CPACK_DEBIAN_PACKAGE_DEPENDS
    "libc6 (>= 2.34), libfcgi0ldbl, libpq5, libjansson4, libsodium23, libssl3, libmemcached11, libcurl4, libcrypt1")
# What an installation on one host uses besides.
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "memcached, spawn-fcgi")
set(CPACK_DEBIAN_PACKAGE_SUGGESTS
    "postgresql, nginx-light | apache2 | lighttpd, libapache2-mod-fcgid")

include(CPack)
