// etcd for the local dev cluster: the upstream etcd command line (etcdmain), unchanged.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
