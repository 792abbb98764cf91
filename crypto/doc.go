// Package crypto holds lanchat's identity keys, fingerprints, domain-separated
// signatures (checked one at a time, or many at once with VerifyBatch, which
// answers exactly as single verification does) and the sealing of secret
// keys at rest.
//
// It never touches the network or the disk. The name shadows the standard
// library's crypto package; files that need both import this one as lcrypto.
package crypto

// Domain-separation prefixes. Every signature lanchat makes covers one of these
// followed by the signed bytes, so a signature made for one purpose can never be
// replayed as another. Versioned: a new meaning gets a new string.
const (
	// DomainNoiseStatic binds an identity key to a Noise static key.
	DomainNoiseStatic = "lanchat/v1/noise-static:"
	// DomainBeacon signs discovery beacons.
	DomainBeacon = "lanchat/v1/beacon:"
	// DomainMessage signs chat messages.
	DomainMessage = "lanchat/v1/message:"
	// DomainDelete signs a request to delete a message for everyone.
	DomainDelete = "lanchat/v1/delete:"
)
