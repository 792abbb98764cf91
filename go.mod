module github.com/lanchat/lanchat

go 1.26.8

require golang.org/x/crypto v0.59.0

require (
	github.com/flynn/noise v1.1.0 // indirect
	github.com/spf13/pflag v1.1.0 // indirect
	go.etcd.io/bbolt v1.5.0 // indirect
	golang.org/x/sys v0.50.0 // indirect
	golang.org/x/term v0.48.0 // indirect
)
