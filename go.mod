module github.com/nailtrt/nailtrt

go 1.26
