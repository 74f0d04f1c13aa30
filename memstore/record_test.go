package memstore

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/go-tokenauth/tokenauth"
)

func TestMetasShareAndRelease(t *testing.T) {
	ms := make(metas)
	a := ms.acquire("login", nil)
	b := ms.acquire("login", []string{})
	require.Same(t, a, b, "nil and empty scopes are the same")
	c := ms.acquire("login", []string{"read"})
	require.NotSame(t, a, c)
	// Lengths prefix each string: these two must differ.
	d := ms.acquire("a", []string{"b", "c"})
	e := ms.acquire("a", []string{"bc"})
	require.NotSame(t, d, e)
	require.Len(t, ms, 4)
	for _, m := range []*meta{a, b, c, d, e} {
		ms.release(m)
	}
	require.Empty(t, ms, "names no token uses are dropped")
}

// TestStoreReleasesMetas checks that names and scopes go with the last
// token that had them.
func TestStoreReleasesMetas(t *testing.T) {
	ctx := context.Background()
	s := New()
	for i, name := range []string{"login", "login", "ci"} {
		require.NoError(t, s.Create(ctx, &tokenauth.Token{ID: name + string(rune('a'+i)), UserID: "u", Name: name, Digest: []byte{byte(i)}}))
	}
	require.Len(t, s.metas, 2)
	require.NoError(t, s.Delete(ctx, "cic"))
	require.Len(t, s.metas, 1)
	n, err := s.DeleteUser(ctx, "u")
	require.NoError(t, err)
	require.Equal(t, 2, n)
	require.Empty(t, s.metas)
}
