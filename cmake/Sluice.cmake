# Helpers: one per target kind. Warnings are errors on our own code only.
set(SLUICE_WARNINGS -Wall -Wextra -Wpedantic -Werror -Wno-missing-field-initializers)
# Extra warnings on our own code (the `clang` preset sets -Wthread-safety here).
set(SLUICE_EXTRA_WARNINGS "" CACHE STRING "Extra compile options for our own targets only")
list(APPEND SLUICE_WARNINGS ${SLUICE_EXTRA_WARNINGS})

# Layering is enforced by the include path: a target sees the headers of a module only through
# that module's own include directory, `<build>/include/<module>`, which holds a single symlink
# `<module> -> src/<module>`. A library exports its directory as a PUBLIC usage requirement, so a
# target can `#include "journal/journal.h"` only if it (transitively, through PUBLIC deps) links
# sluice::journal. Nothing adds `src/` itself to any include path.
function(sluice_module_include_dir module out_var)
  set(dir ${CMAKE_BINARY_DIR}/include/${module})
  file(MAKE_DIRECTORY ${dir})
  file(CREATE_LINK ${PROJECT_SOURCE_DIR}/src/${module} ${dir}/${module} SYMBOLIC)
  set(${out_var} ${dir} PARENT_SCOPE)
endfunction()

# Records a module's declared sluice:: dependencies for the module graph (scripts/module-graph).
function(_sluice_record_module module)
  set(deps "")
  foreach(dep IN LISTS ARGN)
    if(dep MATCHES "^sluice::(.+)$")
      list(APPEND deps ${CMAKE_MATCH_1})
    endif()
  endforeach()
  list(REMOVE_DUPLICATES deps)
  set_property(GLOBAL APPEND PROPERTY SLUICE_GRAPH_MODULES ${module})
  set_property(GLOBAL PROPERTY SLUICE_GRAPH_DEPS_${module} "${deps}")
endfunction()

# Writes <build>/module_graph.txt: one line per module, "module: dep dep ...", in the order the
# modules were added (bottom-up). Called once, at the end of the top-level CMakeLists.txt.
function(sluice_write_module_graph)
  get_property(modules GLOBAL PROPERTY SLUICE_GRAPH_MODULES)
  set(text "")
  foreach(m IN LISTS modules)
    get_property(deps GLOBAL PROPERTY SLUICE_GRAPH_DEPS_${m})
    list(SORT deps)
    list(JOIN deps " " deps_text)
    string(APPEND text "${m}: ${deps_text}\n")
  endforeach()
  file(CONFIGURE OUTPUT ${CMAKE_BINARY_DIR}/module_graph.txt CONTENT "${text}")
endfunction()

# sluice_library(<module> SOURCES a.cc b.cc DEPS sluice::common ... PRIVATE_DEPS ...)
# DEPS are PUBLIC (a dependent sees their headers too); PRIVATE_DEPS only this module's sources.
function(sluice_library name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS;PRIVATE_DEPS" ${ARGN})
  add_library(sluice_${name} STATIC ${ARG_SOURCES})
  add_library(sluice::${name} ALIAS sluice_${name})
  sluice_module_include_dir(${name} include_dir)
  target_include_directories(sluice_${name} PUBLIC $<BUILD_INTERFACE:${include_dir}>)
  target_compile_options(sluice_${name} PRIVATE ${SLUICE_WARNINGS})
  target_link_libraries(sluice_${name} PUBLIC ${ARG_DEPS} PRIVATE ${ARG_PRIVATE_DEPS})
  _sluice_record_module(${name} ${ARG_DEPS} ${ARG_PRIVATE_DEPS})
endfunction()

# sluice_program(<module> NAME <executable> SOURCES main.cc ... DEPS sluice::server ...)
# An executable module (cli/): sees its own headers and those of its DEPS only.
function(sluice_program module)
  cmake_parse_arguments(ARG "" "NAME" "SOURCES;DEPS" ${ARGN})
  add_executable(${ARG_NAME} ${ARG_SOURCES})
  sluice_module_include_dir(${module} include_dir)
  target_include_directories(${ARG_NAME} PRIVATE ${include_dir})
  target_compile_options(${ARG_NAME} PRIVATE ${SLUICE_WARNINGS})
  target_link_libraries(${ARG_NAME} PRIVATE ${ARG_DEPS})
  _sluice_record_module(${module} ${ARG_DEPS})
endfunction()

# sluice_test(<name> SOURCES x_test.cc DEPS sluice::journal ...)
# Registers a GoogleTest binary with CTest (label: unit unless LABELS given). A test sees the
# headers of its DEPS and tests/ (testutil/, unit/<module>/ helpers), nothing else of src/.
function(sluice_test name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS;LABELS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_compile_options(${name} PRIVATE ${SLUICE_WARNINGS})
  target_include_directories(${name} PRIVATE ${PROJECT_SOURCE_DIR}/tests)
  target_link_libraries(${name} PRIVATE ${ARG_DEPS} GTest::gtest GTest::gmock GTest::gtest_main)
  if(NOT ARG_LABELS)
    set(ARG_LABELS unit)
  endif()
  gtest_discover_tests(${name} PROPERTIES LABELS "${ARG_LABELS}" DISCOVERY_TIMEOUT 30)
endfunction()

# sluice_bench(<name> SOURCES b.cc DEPS ...)
function(sluice_bench name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_compile_options(${name} PRIVATE ${SLUICE_WARNINGS})
  target_include_directories(${name} PRIVATE ${PROJECT_SOURCE_DIR}/bench)
  target_link_libraries(${name} PRIVATE ${ARG_DEPS})
endfunction()
