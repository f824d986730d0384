# What an installed copy needs besides its two binaries: the shipped models
# and their cards, the sample images, a desktop entry with its icon, and a
# man page for jiio. The binaries look for share/jiio beside themselves first
# (core/models/model_locator.cpp), so the prefix may be moved.
install(DIRECTORY ${PROJECT_SOURCE_DIR}/models/ DESTINATION ${CMAKE_INSTALL_DATADIR}/jiio/models
        FILES_MATCHING PATTERN "*.pt" PATTERN "*.md")
install(DIRECTORY ${PROJECT_SOURCE_DIR}/resources/samples/ DESTINATION ${CMAKE_INSTALL_DATADIR}/jiio/samples)
install(FILES ${PROJECT_SOURCE_DIR}/resources/desktop/jiio-workbench.desktop
        DESTINATION ${CMAKE_INSTALL_DATADIR}/applications)
install(FILES ${PROJECT_SOURCE_DIR}/resources/desktop/jiio-workbench.svg
        DESTINATION ${CMAKE_INSTALL_DATADIR}/icons/hicolor/scalable/apps)

# The man page is jiio's own --help turned into roff by help2man (Debian's
# help2man); without it the page is skipped with a note.
find_program(HELP2MAN help2man)
if(HELP2MAN)
  set(JIIO_MAN_PAGE ${CMAKE_BINARY_DIR}/man/jiio.1)
  add_custom_command(
    OUTPUT ${JIIO_MAN_PAGE}
    COMMAND ${CMAKE_COMMAND} -E make_directory ${CMAKE_BINARY_DIR}/man
    COMMAND ${HELP2MAN} --no-info --no-discard-stderr --section 1
            --name "joint inference and input optimisation for deep equilibrium models"
            --include ${PROJECT_SOURCE_DIR}/resources/man/jiio.h2m
            --output ${JIIO_MAN_PAGE} $<TARGET_FILE:jiio>
    DEPENDS jiio ${PROJECT_SOURCE_DIR}/resources/man/jiio.h2m
    COMMENT "Writing the jiio man page")
  add_custom_target(jiio_man_page ALL DEPENDS ${JIIO_MAN_PAGE})
  install(FILES ${JIIO_MAN_PAGE} DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
else()
  message(STATUS "help2man not found: the jiio man page is not built")
endif()
