package themes

import (
	"embed"
	"fmt"
	"io/fs"
)

//go:embed all:builtin
var builtinFS embed.FS

// BuiltinTheme is a theme shipped in the binary.
type BuiltinTheme struct {
	// Name identifies the theme: "harbor", "monolith".
	Name string
	// Role says what it is for: "default" for the theme new stores get,
	// "alternative" for the others a merchant may choose.
	Role string
	// Description is one line for the dashboard's theme picker.
	Description string
	// FS holds the theme's files, laid out as New expects.
	FS fs.FS
}

// Builtin lists the built-in themes, the default one first.
func Builtin() []BuiltinTheme {
	sub := func(name string) fs.FS {
		f, err := fs.Sub(builtinFS, "builtin/"+name)
		if err != nil {
			panic(err) // the folder is embedded: a failure is a build error
		}
		return f
	}
	return []BuiltinTheme{
		{Name: "harbor", Role: "default", Description: "Clean and calm: light background, generous spacing, rounded cards.", FS: sub("harbor")},
		{Name: "monolith", Role: "alternative", Description: "Bold and minimal: black and white, big type, hard edges.", FS: sub("monolith")},
	}
}

// LoadBuiltin loads the built-in theme called name.
//
// Errors: ErrNotFound for an unknown name.
func LoadBuiltin(name string) (*Theme, error) {
	for _, b := range Builtin() {
		if b.Name == name {
			t, err := New(b.FS)
			if err != nil {
				return nil, fmt.Errorf("load built-in theme %s: %w", name, err)
			}
			return t, nil
		}
	}
	return nil, fmt.Errorf("built-in theme %q: %w", name, ErrNotFound)
}
