// Package option defines each setting of nailtrt once: its flag, its NAILTRT_*
// variable, its default, its help and the Config field it sets. segment.Config (the
// model runtime's) and server.Config list theirs (Options methods); the nailtrt command
// registers them as flags that also read the environment, the configs take their
// defaults from them (ApplyDefaults), and the README's option table is generated from
// the same list (Markdown), so the three cannot drift apart.
//
// It imports only the standard library, so every layer (nails, nails/segment, server,
// the command) can define its settings here; it must not import any of them.
//
// A field's zero value means "use the default": a library caller's Config{} behaves
// like the command with no flags. Values:
//
//	String, List    text, comma-separated text
//	Int, Int64      integers; 0 or less is unset
//	Bytes           integers with an optional unit: 256MiB, 20MB, 1GiB
//	Float           numbers; only 0 is unset (a negative value may mean something)
//	Duration        30s, 5m, 1ms (a bare number is refused: it names no unit)
//	Bool, Not       booleans; Not sets its field to the opposite ("ui" sets DisableUI)
package option
