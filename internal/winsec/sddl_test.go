package winsec

import "testing"

func TestPipeSDDLAdmitsOnlyTheUser(t *testing.T) {
	got, err := PipeSDDL("S-1-5-21-1-2-3-1001")
	if err != nil {
		t.Fatal(err)
	}
	if want := "D:P(A;;GA;;;S-1-5-21-1-2-3-1001)"; got != want {
		t.Fatalf("PipeSDDL = %q, want %q", got, want)
	}
	got, err = DirSDDL("S-1-5-21-1-2-3-1001")
	if err != nil {
		t.Fatal(err)
	}
	if want := "D:P(A;OICI;FA;;;S-1-5-21-1-2-3-1001)"; got != want {
		t.Fatalf("DirSDDL = %q, want %q", got, want)
	}
}

// A SID that is not one must not turn into extra access entries: ")(A;;GA;;;WD"
// would otherwise admit Everyone.
func TestSDDLRefusesWhatIsNotASID(t *testing.T) {
	for _, sid := range []string{"", "WD", "S-1-5-21)(A;;GA;;;WD", "S-1-", "s-1-5-18", "S-1-5-18 "} {
		if got, err := PipeSDDL(sid); err == nil {
			t.Errorf("PipeSDDL(%q) = %q, want an error", sid, got)
		}
		if got, err := DirSDDL(sid); err == nil {
			t.Errorf("DirSDDL(%q) = %q, want an error", sid, got)
		}
	}
}

func TestOwnerAllowed(t *testing.T) {
	self := "S-1-5-21-1-2-3-1001"
	for owner, want := range map[string]bool{
		self:                  true,
		"S-1-5-32-544":        true,
		"S-1-5-21-1-2-3-1002": false,
		"S-1-5-18":            false, // SYSTEM is not the user
		"":                    false,
	} {
		if got := OwnerAllowed(owner, self); got != want {
			t.Errorf("OwnerAllowed(%q) = %v, want %v", owner, got, want)
		}
	}
}
