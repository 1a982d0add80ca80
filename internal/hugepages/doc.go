// Package hugepages asks the kernel for huge pages for the start of the
// heap, where transparent huge pages are given on request (see reserve).
//
// Imported for its side effect, it does its work as it initializes, and
// it initializes early: at each step Go initializes the first package, in
// import path order, whose imports are all initialized, and this one
// imports only base packages that are (os, strings, syscall). So it runs
// when ~130 KB of heap are in use, before the packages that allocate ~6 MB
// at their initialization. Importing runtime/debug, which sorts late,
// would put it some 150 packages and 2 MB later: that is why it is not
// part of package startup.
package hugepages
