package notifications

// About says what kind is for, as the dashboard lists the kinds a merchant
// may edit: its title and a sentence on when it is sent; ok is false for a
// kind that does not exist.
func About(kind Kind) (title, description string, ok bool) {
	info, ok := infoOf(kind)
	return info.title, info.description, ok
}
