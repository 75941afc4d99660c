package mallocarena

// Server applies the settings nailtrt serve runs with: two arenas, and blocks of 1 MiB
// or more given back to the OS when freed (each unless its glibc variable is set).
func Server() {
	Limit(2)
	ReturnLarge(1 << 20)
}
