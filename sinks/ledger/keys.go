package ledger

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
)

// Key file names that GenerateKeyPair writes.
const (
	PrivateKeyName = "ledger.key"
	PublicKeyName  = "ledger.pub"
)

// CheckpointMessage is the byte string a checkpoint signs:
// "mocdc-ledger-checkpoint:v1:<sequence>:<hash>" in ASCII, sequence in
// decimal, hash in lower-case hex, no newline.
func CheckpointMessage(sequence uint64, hash string) []byte {
	return []byte("mocdc-ledger-checkpoint:v1:" + strconv.FormatUint(sequence, 10) + ":" + hash)
}

// KeyID is the id of a public key in checkpoints: hex SHA-256 of its 32
// raw bytes.
func KeyID(pub ed25519.PublicKey) string {
	sum := sha256.Sum256(pub)
	return hex.EncodeToString(sum[:])
}

// GenerateKeyPair writes a new Ed25519 key pair to dir (created 0700 if
// missing): PrivateKeyName as PKCS#8 PEM with mode 0600 and PublicKeyName
// as PKIX ("PUBLIC KEY") PEM with mode 0644, the forms openssl and
// Python's cryptography read. It refuses to overwrite either file.
func GenerateKeyPair(dir string) (privPath, pubPath string, err error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return "", "", fmt.Errorf("generate key: %w", err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", "", fmt.Errorf("key directory: %w", err)
	}
	privPEM, pubPEM, err := encodeKeyPair(priv, pub)
	if err != nil {
		return "", "", err
	}
	privPath, pubPath = filepath.Join(dir, PrivateKeyName), filepath.Join(dir, PublicKeyName)
	if err := writeNew(privPath, privPEM, 0o600); err != nil {
		return "", "", err
	}
	if err := writeNew(pubPath, pubPEM, 0o644); err != nil {
		_ = os.Remove(privPath)
		return "", "", err
	}
	return privPath, pubPath, nil
}

func encodeKeyPair(priv ed25519.PrivateKey, pub ed25519.PublicKey) (privPEM, pubPEM []byte, err error) {
	p8, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, nil, fmt.Errorf("encode private key: %w", err)
	}
	pk, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, nil, fmt.Errorf("encode public key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: p8}),
		pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pk}), nil
}

func writeNew(path string, data []byte, mode os.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		if errors.Is(err, os.ErrExist) {
			return fmt.Errorf("%s exists: keygen never overwrites a key; choose another --out", path)
		}
		return fmt.Errorf("write key: %w", err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// LoadPrivateKey reads a PKCS#8 PEM Ed25519 private key.
func LoadPrivateKey(path string) (ed25519.PrivateKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("ledger private key: %w", err)
	}
	blk, _ := pem.Decode(b)
	if blk == nil || blk.Type != "PRIVATE KEY" {
		return nil, fmt.Errorf("ledger private key %s: no \"PRIVATE KEY\" PEM block (make one with `mocdc ledger keygen`)", path)
	}
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		return nil, fmt.Errorf("ledger private key %s: %w", path, err)
	}
	priv, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("ledger private key %s: %T, want an Ed25519 key", path, k)
	}
	return priv, nil
}

// LoadPublicKey reads a PKIX PEM Ed25519 public key.
func LoadPublicKey(path string) (ed25519.PublicKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("ledger public key: %w", err)
	}
	return ParsePublicKey(b)
}

// ParsePublicKey parses a PKIX PEM Ed25519 public key.
func ParsePublicKey(b []byte) (ed25519.PublicKey, error) {
	blk, _ := pem.Decode(b)
	if blk == nil || blk.Type != "PUBLIC KEY" {
		return nil, errors.New("ledger public key: no \"PUBLIC KEY\" PEM block")
	}
	k, err := x509.ParsePKIXPublicKey(blk.Bytes)
	if err != nil {
		return nil, fmt.Errorf("ledger public key: %w", err)
	}
	pub, ok := k.(ed25519.PublicKey)
	if !ok {
		return nil, fmt.Errorf("ledger public key: %T, want an Ed25519 key", k)
	}
	return pub, nil
}

// verifyCheckpoint checks c's signature with pub. It returns "" when the
// signature is good, else why not.
func verifyCheckpoint(c *Checkpoint, pub ed25519.PublicKey) string {
	if id := KeyID(pub); c.Key != id {
		return fmt.Sprintf("signed by key %s, not by the public key given (%s)", c.Key, id)
	}
	sig, err := hex.DecodeString(c.Signature)
	if err != nil || len(sig) != ed25519.SignatureSize {
		return "signature is not 64 bytes of hex"
	}
	if !ed25519.Verify(pub, CheckpointMessage(c.SignedSequence, c.SignedHash), sig) {
		return fmt.Sprintf("signature over sequence %d hash %s does not verify", c.SignedSequence, c.SignedHash)
	}
	return ""
}
