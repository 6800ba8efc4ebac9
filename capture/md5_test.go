package capture

import (
	"crypto/md5"
	"fmt"
)

// md5UUID is PostgreSQL's md5(s)::uuid.
func md5UUID(s string) string {
	h := md5.Sum([]byte(s))
	return fmt.Sprintf("%x-%x-%x-%x-%x", h[0:4], h[4:6], h[6:8], h[8:10], h[10:16])
}
