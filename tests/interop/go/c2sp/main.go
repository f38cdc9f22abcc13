// Command c2sp is the Go side of model-ledger's interoperability tests
// (tests/interop/test_c2sp_go.py): it runs Go's own golang.org/x/mod/sumdb/note and
// sumdb/tlog, as Debian packages them, on what the Python side sends, so our C2SP
// formats are checked by code not written here.
//
// One JSON request on stdin, one JSON answer on stdout: {"ok": true, ...} or
// {"ok": false, "error": "..."}. Built offline:
//
//	GOPATH=/usr/share/gocode GO111MODULE=off go build -o c2sp .
package main

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

type request struct {
	Op       string   `json:"op"`
	Name     string   `json:"name"`
	Text     string   `json:"text"`
	Note     string   `json:"note"`
	Skey     string   `json:"skey"`
	Vkeys    []string `json:"vkeys"`
	Origin   string   `json:"origin"`
	Index    int64    `json:"index"`
	LeafHash string   `json:"leaf_hash"`
	Proof    []string `json:"proof"`
	OldNote  string   `json:"old_note"`
	Leaves   []string `json:"leaves"`
	Witness  []string `json:"witness_vkeys"`
	URL      string   `json:"url"`
}

func main() {
	var req request
	answer := map[string]any{}
	err := json.NewDecoder(os.Stdin).Decode(&req)
	if err == nil {
		err = run(req, answer)
	}
	if err != nil {
		answer = map[string]any{"ok": false, "error": err.Error()}
	} else {
		answer["ok"] = true
	}
	json.NewEncoder(os.Stdout).Encode(answer)
}

func run(req request, answer map[string]any) error {
	switch req.Op {
	case "generate":
		skey, vkey, err := note.GenerateKey(rand.Reader, req.Name)
		answer["skey"], answer["vkey"] = skey, vkey
		return err
	case "sign":
		signer, err := note.NewSigner(req.Skey)
		if err != nil {
			return err
		}
		msg, err := note.Sign(&note.Note{Text: req.Text}, signer)
		answer["note"] = string(msg)
		return err
	case "open":
		n, err := open(req.Note, req.Vkeys)
		if err != nil {
			return err
		}
		answer["text"] = n.Text
		answer["verified"] = names(n.Sigs)
		answer["unverified"] = names(n.UnverifiedSigs)
		return nil
	case "parse-tree":
		n, err := open(req.Note, req.Vkeys)
		if err != nil {
			return err
		}
		tree, err := tlog.ParseTree([]byte(n.Text))
		answer["size"], answer["root"] = tree.N, tree.Hash.String()
		return err
	case "check-record":
		return checkRecord(req, answer)
	case "check-tree":
		return checkTree(req)
	case "prove":
		return prove(req, answer)
	case "check-tlog-proof":
		return checkTlogProof(req, answer)
	case "open-cosigned":
		return openCosigned(req, answer)
	case "check-tiles":
		return checkTiles(req, answer)
	}
	return fmt.Errorf("unknown op %q", req.Op)
}

func open(msg string, vkeys []string) (*note.Note, error) {
	var verifiers []note.Verifier
	for _, vkey := range vkeys {
		v, err := note.NewVerifier(vkey)
		if err != nil {
			return nil, fmt.Errorf("vkey %q: %w", vkey, err)
		}
		verifiers = append(verifiers, v)
	}
	return note.Open([]byte(msg), note.VerifierList(verifiers...))
}

func names(sigs []note.Signature) []string {
	out := []string{}
	for _, s := range sigs {
		out = append(out, fmt.Sprintf("%s+%08x", s.Name, s.Hash))
	}
	return out
}

// checkpoint opens a signed checkpoint and reads its first three lines as
// c2sp.org/tlog-checkpoint says (Go's tlog.ParseTree knows only the checksum
// database's origin line, so the origin and the size are read here).
func checkpoint(msg string, vkeys []string, origin string) (int64, tlog.Hash, error) {
	n, err := open(msg, vkeys)
	if err != nil {
		return 0, tlog.Hash{}, err
	}
	lines := strings.SplitN(n.Text, "\n", 4)
	if len(lines) < 4 || lines[0] != origin {
		return 0, tlog.Hash{}, errors.New("not a checkpoint of the expected origin")
	}
	size, err := strconv.ParseInt(lines[1], 10, 64)
	if err != nil || size < 0 || strconv.FormatInt(size, 10) != lines[1] {
		return 0, tlog.Hash{}, errors.New("malformed tree size")
	}
	root, err := tlog.ParseHash(lines[2])
	return size, root, err
}

func hashes(list []string) ([]tlog.Hash, error) {
	out := []tlog.Hash{}
	for _, text := range list {
		h, err := tlog.ParseHash(text)
		if err != nil {
			return nil, err
		}
		out = append(out, h)
	}
	return out, nil
}

func checkRecord(req request, answer map[string]any) error {
	size, root, err := checkpoint(req.Note, req.Vkeys, req.Origin)
	if err != nil {
		return err
	}
	leaf, err := tlog.ParseHash(req.LeafHash)
	if err != nil {
		return err
	}
	proof, err := hashes(req.Proof)
	if err != nil {
		return err
	}
	answer["size"] = size
	return tlog.CheckRecord(proof, size, root, req.Index, leaf)
}

func checkTree(req request) error {
	oldSize, oldRoot, err := checkpoint(req.OldNote, req.Vkeys, req.Origin)
	if err != nil {
		return err
	}
	size, root, err := checkpoint(req.Note, req.Vkeys, req.Origin)
	if err != nil {
		return err
	}
	proof, err := hashes(req.Proof)
	if err != nil {
		return err
	}
	return tlog.CheckTree(proof, size, root, oldSize, oldRoot)
}

// prove builds the tree of the given leaves with Go's tlog and answers its root, every
// leaf's inclusion proof and the consistency proof from every smaller size.
func prove(req request, answer map[string]any) error {
	var stored []tlog.Hash
	reader := tlog.HashReaderFunc(func(indexes []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(indexes))
		for i, index := range indexes {
			out[i] = stored[index]
		}
		return out, nil
	})
	for i, text := range req.Leaves {
		data, err := base64.StdEncoding.DecodeString(text)
		if err != nil {
			return err
		}
		more, err := tlog.StoredHashes(int64(i), data, reader)
		if err != nil {
			return err
		}
		stored = append(stored, more...)
	}
	size := int64(len(req.Leaves))
	root, err := tlog.TreeHash(size, reader)
	if err != nil {
		return err
	}
	inclusion := [][]string{}
	consistency := [][]string{}
	for i := int64(0); i < size; i++ {
		p, err := tlog.ProveRecord(size, i, reader)
		if err != nil {
			return err
		}
		inclusion = append(inclusion, encode(p))
		t, err := tlog.ProveTree(size, i+1, reader)
		if err != nil {
			return err
		}
		consistency = append(consistency, encode(t))
	}
	answer["root"], answer["inclusion"], answer["consistency"] = root.String(), inclusion, consistency
	return nil
}

func encode(list []tlog.Hash) []string {
	out := []string{}
	for _, h := range list {
		out = append(out, h.String())
	}
	return out
}

// checkTlogProof reads a c2sp.org/tlog-proof@v1 text as the spec describes it (Go's
// x/mod has no reader for it), then checks its checkpoint with note.Open and its proof
// with tlog.CheckRecord.
func checkTlogProof(req request, answer map[string]any) error {
	head, checkpointNote, found := strings.Cut(req.Text, "\n\n")
	if !found {
		return errors.New("no empty line before the checkpoint")
	}
	lines := strings.Split(head, "\n")
	if lines[0] != "c2sp.org/tlog-proof@v1" {
		return errors.New("missing header line")
	}
	lines = lines[1:]
	if len(lines) > 0 && strings.HasPrefix(lines[0], "extra ") {
		extra, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(lines[0], "extra "))
		if err != nil {
			return err
		}
		answer["extra"] = base64.StdEncoding.EncodeToString(extra)
		lines = lines[1:]
	}
	if len(lines) == 0 || !strings.HasPrefix(lines[0], "index ") {
		return errors.New("missing index line")
	}
	index, err := strconv.ParseInt(strings.TrimPrefix(lines[0], "index "), 10, 64)
	if err != nil {
		return err
	}
	req.Index, req.Proof, req.Note = index, lines[1:], checkpointNote
	answer["index"] = index
	return checkRecord(req, answer)
}

// cosigner is a note.Verifier for c2sp.org/tlog-cosignature cosignature/v1 (signature
// type 0x04), which x/mod 0.7.0's note package does not know: note.Open still parses the
// lines and matches names and key IDs; this checks the timestamped Ed25519 signature.
type cosigner struct {
	name  string
	hash  uint32
	key   ed25519.PublicKey
	times map[string]uint64
}

func (c *cosigner) Name() string    { return c.name }
func (c *cosigner) KeyHash() uint32 { return c.hash }
func (c *cosigner) Verify(msg, sig []byte) bool {
	if len(sig) != 8+ed25519.SignatureSize {
		return false
	}
	t := binary.BigEndian.Uint64(sig)
	if t > 1<<63-1 {
		return false
	}
	signed := append([]byte(fmt.Sprintf("cosignature/v1\ntime %d\n", t)), msg...)
	if !ed25519.Verify(c.key, signed, sig[8:]) {
		return false
	}
	c.times[c.name] = t
	return true
}

func newCosigner(vkey string) (*cosigner, error) {
	parts := strings.SplitN(vkey, "+", 3) // the base64 key may hold "+"
	if len(parts) != 3 || len(parts[1]) != 8 {
		return nil, errors.New("malformed witness vkey")
	}
	hash, err := strconv.ParseUint(parts[1], 16, 32)
	if err != nil {
		return nil, err
	}
	key, err := base64.StdEncoding.DecodeString(parts[2])
	if err != nil || len(key) != 33 || key[0] != 0x04 {
		return nil, errors.New("not a cosignature/v1 Ed25519 vkey")
	}
	sum := sha256.Sum256(append([]byte(parts[0]+"\n"), key...))
	if binary.BigEndian.Uint32(sum[:4]) != uint32(hash) {
		return nil, errors.New("witness vkey: wrong key ID")
	}
	return &cosigner{parts[0], uint32(hash), ed25519.PublicKey(key[1:]), map[string]uint64{}}, nil
}

// openCosigned opens a note with the log's keys and the witnesses' keys together and
// answers which verified, with each cosignature's time.
func openCosigned(req request, answer map[string]any) error {
	var verifiers []note.Verifier
	for _, vkey := range req.Vkeys {
		v, err := note.NewVerifier(vkey)
		if err != nil {
			return err
		}
		verifiers = append(verifiers, v)
	}
	times := map[string]uint64{}
	for _, vkey := range req.Witness {
		c, err := newCosigner(vkey)
		if err != nil {
			return err
		}
		c.times = times
		verifiers = append(verifiers, c)
	}
	n, err := note.Open([]byte(req.Note), note.VerifierList(verifiers...))
	if err != nil {
		return err
	}
	answer["verified"] = names(n.Sigs)
	answer["unverified"] = names(n.UnverifiedSigs)
	answer["times"] = times
	return nil
}

// httpTiles is a tlog.TileReader over a live log's c2sp.org/tlog-tiles endpoints. Go's
// sumdb paths name the tile height (tile/8/L/N); tlog-tiles fixes it at 8 and leaves it
// out (tile/L/N), which is the only difference.
type httpTiles struct {
	url     string
	fetched []string
}

func (r *httpTiles) Height() int { return 8 }

func (r *httpTiles) ReadTiles(tiles []tlog.Tile) ([][]byte, error) {
	out := make([][]byte, len(tiles))
	for i, t := range tiles {
		path := strings.Replace(t.Path(), "tile/8/", "tile/", 1)
		data, err := get(r.url + "/" + path)
		if err != nil {
			return nil, err
		}
		r.fetched = append(r.fetched, path)
		out[i] = data
	}
	return out, nil
}

func (r *httpTiles) SaveTiles(tiles []tlog.Tile, data [][]byte) {}

func get(url string) ([]byte, error) {
	resp, err := http.Get(url)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return data, nil
}

// checkTiles fetches a live log's checkpoint (GET /checkpoint) and opens it with
// note.Open, then reads its hash tiles through tlog.TileHashReader (which checks every
// tile against the tree) to recompute the root, prove leaf req.Index holds
// req.LeafHash (tlog.CheckRecord) and prove the tree extends req.OldNote
// (tlog.CheckTree).
func checkTiles(req request, answer map[string]any) error {
	msg, err := get(req.URL + "/checkpoint")
	if err != nil {
		return err
	}
	size, root, err := checkpoint(string(msg), req.Vkeys, req.Origin)
	if err != nil {
		return err
	}
	tiles := &httpTiles{url: req.URL}
	reader := tlog.TileHashReader(tlog.Tree{N: size, Hash: root}, tiles)
	computed, err := tlog.TreeHash(size, reader)
	if err != nil {
		return err
	}
	if computed != root {
		return errors.New("the tiles give another root than the checkpoint")
	}
	leaf, err := tlog.ParseHash(req.LeafHash)
	if err != nil {
		return err
	}
	record, err := tlog.ProveRecord(size, req.Index, reader)
	if err != nil {
		return err
	}
	if err := tlog.CheckRecord(record, size, root, req.Index, leaf); err != nil {
		return err
	}
	oldSize, oldRoot, err := checkpoint(req.OldNote, req.Vkeys, req.Origin)
	if err != nil {
		return err
	}
	tree, err := tlog.ProveTree(size, oldSize, reader)
	if err != nil {
		return err
	}
	if err := tlog.CheckTree(tree, size, root, oldSize, oldRoot); err != nil {
		return err
	}
	answer["size"], answer["root"], answer["tiles"] = size, root.String(), tiles.fetched
	return nil
}
