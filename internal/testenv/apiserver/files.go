package apiserver

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// files are the inputs New writes once per server and reuses across start
// attempts.
type files struct {
	certPEM     []byte // serving certificate, self-signed, also the CA
	certFile    string
	keyFile     string
	saKeyFile   string // RSA key that signs and verifies service-account tokens
	tokenFile   string
	adminToken  string
	viewerToken string
}

// writeFiles makes the serving certificate, the service-account key and the
// token file in dir.
func writeFiles(dir string) (*files, error) {
	f := &files{
		certFile:  filepath.Join(dir, "serving.crt"),
		keyFile:   filepath.Join(dir, "serving.key"),
		saKeyFile: filepath.Join(dir, "sa.key"),
		tokenFile: filepath.Join(dir, "tokens.csv"),
	}
	var err error
	if f.adminToken, err = randomToken(); err != nil {
		return nil, err
	}
	if f.viewerToken, err = randomToken(); err != nil {
		return nil, err
	}
	certPEM, keyPEM, err := servingCert()
	if err != nil {
		return nil, err
	}
	f.certPEM = certPEM
	saKeyPEM, err := rsaKeyPEM()
	if err != nil {
		return nil, err
	}
	// Token file lines: token,user,uid[,"group1,group2"].
	tokens := fmt.Sprintf("%s,%s,%s,system:masters\n%s,%s,%s\n",
		f.adminToken, AdminUser, AdminUser, f.viewerToken, ViewerUser, ViewerUser)
	for path, data := range map[string][]byte{
		f.certFile:  certPEM,
		f.keyFile:   keyPEM,
		f.saKeyFile: saKeyPEM,
		f.tokenFile: []byte(tokens),
	} {
		if err := os.WriteFile(path, data, 0o600); err != nil {
			return nil, fmt.Errorf("writing %s: %w", path, err)
		}
	}
	return f, nil
}

// randomToken returns 32 random hex digits.
func randomToken() (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("generating a token: %w", err)
	}
	return hex.EncodeToString(b), nil
}

// servingCert returns a self-signed ECDSA certificate for 127.0.0.1 and
// localhost, and its key, both PEM. Clients trust the certificate itself as
// their CA.
func servingCert() (certPEM, keyPEM []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("generating the serving key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		return nil, nil, fmt.Errorf("generating a serial number: %w", err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "kube-apiserver test"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
		DNSNames:              []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, fmt.Errorf("creating the serving certificate: %w", err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, nil, fmt.Errorf("encoding the serving key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), nil
}

// rsaKeyPEM returns a new 2048-bit RSA private key as PKCS#1 PEM, the form
// kube-apiserver reads for both service-account key flags.
func rsaKeyPEM() ([]byte, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, fmt.Errorf("generating the service-account key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}), nil
}
