package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/go-tokenauth/tokenauth"
	"github.com/go-tokenauth/tokenauth/login"
	"golang.org/x/crypto/bcrypt"
)

// users is the host application's users table, in the tokens' database:
// what a service has before it adds tokens. It is the login endpoint's
// login.CredentialChecker, and its load method the Authenticator's
// UserLoader.
type users struct{ db *sql.DB }

// user is a row of the users table.
type user struct {
	ID       string // the integer primary key in decimal: the tokens' user ID
	Username string
	Active   bool
	Admin    bool // logins get the scope "admin"
	hash     []byte
}

// scopes are those of the user's login tokens. They are fixed when a token
// is issued: when a user stops being an admin, revoke their tokens
// (Authenticator.RevokeAll).
func (u *user) scopes() []string {
	if u.Admin {
		return []string{"admin"}
	}
	return nil
}

func (u *user) checkPassword(password string) bool {
	// Any bcrypt error is a refusal: a mismatch, or a password over
	// bcrypt's 72 bytes.
	return bcrypt.CompareHashAndPassword(u.hash, []byte(password)) == nil
}

func (s *users) migrate(ctx context.Context) error {
	_, err := s.db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS users (
	id INTEGER PRIMARY KEY AUTOINCREMENT,
	username TEXT NOT NULL UNIQUE,
	password_hash BLOB NOT NULL,
	is_active BOOLEAN NOT NULL,
	is_admin BOOLEAN NOT NULL DEFAULT FALSE
)`)
	return err
}

// bcryptCost is the work factor of password hashes; tests lower it.
var bcryptCost = bcrypt.DefaultCost

var errUsernameTaken = errors.New("quickstart: username already taken")

// create adds u, with password, to the table and returns it with its ID.
func (s *users) create(ctx context.Context, u user, password string) (*user, error) {
	hash, err := bcrypt.GenerateFromPassword([]byte(password), bcryptCost)
	if err != nil {
		return nil, err
	}
	res, err := s.db.ExecContext(ctx, `INSERT INTO users (username, password_hash, is_active, is_admin)
VALUES (?, ?, ?, ?) ON CONFLICT (username) DO NOTHING`, u.Username, hash, u.Active, u.Admin)
	if err != nil {
		return nil, err
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return nil, errUsernameTaken
	}
	id, err := res.LastInsertId()
	if err != nil {
		return nil, err
	}
	u.ID, u.hash = strconv.FormatInt(id, 10), hash
	return &u, nil
}

func (s *users) setPassword(ctx context.Context, id, password string) error {
	hash, err := bcrypt.GenerateFromPassword([]byte(password), bcryptCost)
	if err != nil {
		return err
	}
	_, err = s.db.ExecContext(ctx, `UPDATE users SET password_hash = ? WHERE id = ?`, hash, id)
	return err
}

func (s *users) byUsername(ctx context.Context, username string) (*user, error) {
	return s.scan(s.db.QueryRowContext(ctx, `SELECT id, username, is_active, is_admin, password_hash FROM users WHERE username = ?`, username))
}

// usernames lists the users, oldest first.
func (s *users) usernames(ctx context.Context) ([]string, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT username FROM users ORDER BY id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	names := []string{}
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			return nil, err
		}
		names = append(names, name)
	}
	return names, rows.Err()
}

func (s *users) scan(row *sql.Row) (*user, error) {
	var (
		u  user
		id int64
	)
	if err := row.Scan(&id, &u.Username, &u.Active, &u.Admin, &u.hash); err != nil {
		return nil, err
	}
	u.ID = strconv.FormatInt(id, 10)
	return &u, nil
}

// dummyHash is compared against when a login names no user, so that an
// unknown user costs as much time as a wrong password and response times
// do not tell which usernames exist.
var dummyHash, _ = bcrypt.GenerateFromPassword([]byte("no such user"), bcrypt.DefaultCost)

// CheckCredentials implements login.CredentialChecker: the token it grants
// carries the scope "admin" for administrators.
func (s *users) CheckCredentials(ctx context.Context, username, password string) (login.Grant, error) {
	u, err := s.byUsername(ctx, username)
	if errors.Is(err, sql.ErrNoRows) {
		_ = bcrypt.CompareHashAndPassword(dummyHash, []byte(password))
		return login.Grant{}, login.ErrBadCredentials
	}
	if err != nil {
		return login.Grant{}, err // the database failed: 503
	}
	if !u.checkPassword(password) || !u.Active {
		return login.Grant{}, login.ErrBadCredentials
	}
	return login.Grant{UserID: u.ID, Scopes: u.scopes()}, nil
}

// load is the Authenticator's UserLoader: the client sees 401 "User
// inactive or deleted." for an inactive or missing user. User IDs are
// decimal integers written canonically: "01", "+1" or " 1" name no user,
// so that a token issued to one of them cannot pass for user 1.
func (s *users) load(ctx context.Context, userID string) (any, error) {
	id, err := strconv.ParseInt(userID, 10, 64)
	if err != nil || strconv.FormatInt(id, 10) != userID {
		return nil, tokenauth.ErrNotFound
	}
	u, err := s.scan(s.db.QueryRowContext(ctx, `SELECT id, username, is_active, is_admin, password_hash FROM users WHERE id = ?`, id))
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil, tokenauth.ErrNotFound
	case err != nil:
		return nil, err // 503
	case !u.Active:
		return nil, tokenauth.ErrUserInactive
	}
	return u, nil
}

// fieldErrors is a refusal in DRF's shape: {"username": ["…"]}.
type fieldErrors map[string][]string

// validate applies Django's username rules and a password length of 8
// characters to bcrypt's 72 bytes.
func validate(username, password string) fieldErrors {
	errs := fieldErrors{}
	switch {
	case username == "":
		errs["username"] = []string{"This field may not be blank."}
	case utf8.RuneCountInString(username) > 150:
		errs["username"] = []string{"Ensure this field has no more than 150 characters."}
	case strings.IndexFunc(username, func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r) && !strings.ContainsRune("@.+-_", r)
	}) >= 0:
		errs["username"] = []string{"Enter a valid username. This value may contain only letters, numbers, and @/./+/-/_ characters."}
	}
	switch {
	case utf8.RuneCountInString(password) < 8:
		errs["password"] = []string{"This password is too short. It must contain at least 8 characters."}
	case len(password) > 72:
		errs["password"] = []string{"This password is too long. It must contain at most 72 bytes."}
	}
	if len(errs) == 0 {
		return nil
	}
	return errs
}

// readFields reads a JSON object of strings or an HTML form, of 16 KiB at
// most. When the body is unreadable it answers 400 and returns false.
func readFields(w http.ResponseWriter, r *http.Request) (map[string]string, bool) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	fields := map[string]string{}
	var err error
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt == "application/json" {
		err = json.NewDecoder(r.Body).Decode(&fields)
	} else if err = r.ParseForm(); err == nil {
		for name := range r.PostForm {
			fields[name] = r.PostForm.Get(name)
		}
	}
	if err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"detail": "Send a JSON object of strings or a form, of 16 KiB at most."})
		return nil, false
	}
	return fields, true
}
