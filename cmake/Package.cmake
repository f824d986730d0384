# `cpack -G DEB` in the build folder packs what `cmake --install` lays out
# (binaries, models and their cards, samples, the desktop entry, icon and man
# page) under /usr; dpkg-shlibdeps finds the package's dependencies.
set(CPACK_PACKAGE_NAME "jiio-workbench")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "Joint inference and input optimisation for deep equilibrium models: desktop workbench and CLI")
set(CPACK_PACKAGE_CONTACT "JIIO Workbench maintainers")
set(CPACK_PACKAGING_INSTALL_PREFIX "/usr")
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION "science")
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# Plugins Qt loads at run time (TIFF and WebP masks, the SVG icon), which
# dpkg-shlibdeps cannot see.
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "qt6-image-formats-plugins, libqt6svg6")
set(CPACK_STRIP_FILES ON)
include(CPack)
