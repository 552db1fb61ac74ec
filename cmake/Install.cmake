# Man pages, shell completion and `cmake --install` rules, with the
# GNUInstallDirs layout (everything under CMAKE_INSTALL_PREFIX; DESTDIR is
# honoured as usual):
#
#   sbin/stasis                                 as Debian installs criu
#   share/man/man8/stasis.8, man5/stasis-image.5
#   share/bash-completion/completions/stasis
#   ${STASIS_ZSH_COMPLETION_DIR}/_stasis        default share/zsh/site-functions
#   share/doc/stasis/                           README, licence (when the tree
#                                               has them), image-format.md
include(GNUInstallDirs)

add_subdirectory(docs/man)
add_subdirectory(completions)

set(STASIS_BASH_COMPLETION_DIR ${CMAKE_INSTALL_DATADIR}/bash-completion/completions
    CACHE STRING "Where the bash completion goes, relative to the prefix")
# Debian's zsh reads /usr/share/zsh/vendor-completions (debian/rules says so);
# site-functions is what a plain zsh searches under its own prefix.
set(STASIS_ZSH_COMPLETION_DIR ${CMAKE_INSTALL_DATADIR}/zsh/site-functions
    CACHE STRING "Where the zsh completion goes, relative to the prefix")

install(TARGETS stasis RUNTIME DESTINATION ${CMAKE_INSTALL_SBINDIR})
if(STASIS_MAN_PAGES)
  foreach(_page IN LISTS STASIS_MAN_PAGES)
    string(REGEX REPLACE "^.*\\.([0-9])$" "\\1" _section ${_page})
    install(FILES ${_page} DESTINATION ${CMAKE_INSTALL_MANDIR}/man${_section})
  endforeach()
endif()
install(FILES ${STASIS_BASH_COMPLETION} DESTINATION ${STASIS_BASH_COMPLETION_DIR})
install(FILES ${STASIS_ZSH_COMPLETION} DESTINATION ${STASIS_ZSH_COMPLETION_DIR})

# Documentation that exists in the tree. There is no licence file yet: the
# project owner chooses the licence; once LICENSE or COPYING exists it is
# installed without further change here.
set(_docs "")
foreach(_doc README.md README LICENSE LICENSE.md LICENSE.txt COPYING NEWS.md docs/image-format.md)
  if(EXISTS ${PROJECT_SOURCE_DIR}/${_doc})
    list(APPEND _docs ${PROJECT_SOURCE_DIR}/${_doc})
  endif()
endforeach()
install(FILES ${_docs} DESTINATION ${CMAKE_INSTALL_DOCDIR})
