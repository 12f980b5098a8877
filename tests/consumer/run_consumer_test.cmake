message(FATAL_ERROR "not written yet")
