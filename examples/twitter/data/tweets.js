window.YTD.tweets.part0 = [
  {
    "tweet" : {
      "edit_info" : {
        "initial" : {
          "editTweetIds" : [
            "2065737260069814343"
          ],
          "editableUntil" : "2026-06-13T11:05:17.000Z",
          "editsRemaining" : "5",
          "isEditEligible" : true
        }
      },
      "retweeted" : false,
      "source" : "<a href=\"http://twitter.com/download/iphone\" rel=\"nofollow\">Twitter for iPhone</a>",
      "entities" : {
        "hashtags" : [ ],
        "symbols" : [ ],
        "user_mentions" : [ ],
        "urls" : [ ]
      },
      "display_text_range" : [
        "0",
        "102"
      ],
      "favorite_count" : "77",
      "id_str" : "2065737260069814343",
      "truncated" : false,
      "retweet_count" : "0",
      "id" : "2065737260069814343",
      "created_at" : "Sat Jun 13 10:05:17 +0000 2026",
      "favorited" : false,
      "full_text" : "Noite de Santo António: sardinhas, manjericos e a rua inteira a cantar. Lisboa em junho não tem igual.",
      "lang" : "pt"
    }
  },
  {
    "tweet" : {
      "edit_info" : {
        "initial" : {
          "editTweetIds" : [
            "2061923308139446342"
          ],
          "editableUntil" : "2026-06-02T22:30:00.000Z",
          "editsRemaining" : "5",
          "isEditEligible" : true
        }
      },
      "retweeted" : false,
      "source" : "<a href=\"http://twitter.com/download/iphone\" rel=\"nofollow\">Twitter for iPhone</a>",
      "entities" : {
        "hashtags" : [ ],
        "symbols" : [ ],
        "user_mentions" : [ ],
        "urls" : [ ]
      },
      "display_text_range" : [
        "0",
        "71"
      ],
      "favorite_count" : "120",
      "id_str" : "2061923308139446342",
      "truncated" : false,
      "retweet_count" : "0",
      "id" : "2061923308139446342",
      "created_at" : "Tue Jun 02 21:30:00 +0000 2026",
      "favorited" : false,
      "full_text" : "35 today. Spent it on my balcony with Tiago, Pimenta and too much cake.",
      "lang" : "en"
    }
  },
  {
    "tweet" : {
      "edit_info" : {
        "initial" : {
          "editTweetIds" : [
            "2050965709910966341"
          ],
          "editableUntil" : "2026-05-03T16:48:25.000Z",
          "editsRemaining" : "5",
          "isEditEligible" : true
        }
      },
      "retweeted" : false,
      "source" : "<a href=\"http://twitter.com/download/iphone\" rel=\"nofollow\">Twitter for iPhone</a>",
      "entities" : {
        "hashtags" : [ ],
        "symbols" : [ ],
        "user_mentions" : [ ],
        "urls" : [ ]
      },
      "display_text_range" : [
        "0",
        "115"
      ],
      "favorite_count" : "58",
      "id_str" : "2050965709910966341",
      "truncated" : false,
      "retweet_count" : "0",
      "id" : "2050965709910966341",
      "created_at" : "Sun May 03 15:48:25 +0000 2026",
      "favorited" : false,
      "full_text" : "Noor is visiting from Copenhagen and we've eaten pastéis de nata at four different places to \"compare methodology\".",
      "lang" : "en"
    }
  },
  {
    "tweet" : {
      "edit_info" : {
        "initial" : {
          "editTweetIds" : [
            "2035993709769654340"
          ],
          "editableUntil" : "2026-03-23T09:15:02.000Z",
          "editsRemaining" : "5",
          "isEditEligible" : true
        }
      },
      "retweeted" : false,
      "source" : "<a href=\"https://mobile.twitter.com\" rel=\"nofollow\">Twitter Web App</a>",
      "entities" : {
        "hashtags" : [ ],
        "symbols" : [ ],
        "user_mentions" : [ ],
        "urls" : [ ]
      },
      "display_text_range" : [
        "0",
        "82"
      ],
      "favorite_count" : "66",
      "id_str" : "2035993709769654340",
      "truncated" : false,
      "retweet_count" : "0",
      "id" : "2035993709769654340",
      "created_at" : "Mon Mar 23 08:15:02 +0000 2026",
      "favorited" : false,
      "full_text" : "One year since the half marathon. Current running status: I run to catch the tram.",
      "lang" : "en"
    }
  },
  {
    "tweet" : {
      "edit_info" : {
        "initial" : {
          "editTweetIds" : [
            "2020438089003958339"
          ],
          "editableUntil" : "2026-02-08T11:02:33.000Z",
          "editsRemaining" : "5",
          "isEditEligible" : true
        }
      },
      "retweeted" : false,
      "source" : "<a href=\"http://twitter.com/download/iphone\" rel=\"nofollow\">Twitter for iPhone</a>",
      "entities" : {
        "hashtags" : [ ],
        "symbols" : [ ],
        "user_mentions" : [
          {
            "name" : "Bloco Alcântara",
            "screen_name" : "blocoalcantara",
            "indices" : [
              "0",
              "15"
            ],
            "id_str" : "1228333070545846276",
            "id" : "1228333070545846276"
          }
        ],
        "urls" : [ ]
      },
      "display_text_range" : [
        "16",
        "69"
      ],
      "favorite_count" : "7",
      "in_reply_to_status_id_str" : "2020432665768886275",
      "in_reply_to_status_id" : "2020432665768886275",
      "id_str" : "2020438089003958339",
      "truncated" : false,
      "retweet_count" : "0",
      "id" : "2020438089003958339",
      "in_reply_to_user_id" : "1228333070545846276",
      "in_reply_to_user_id_str" : "1228333070545846276",
      "in_reply_to_screen_name" : "blocoalcantara",
      "created_at" : "Sun Feb 08 10:02:33 +0000 2026",
      "favorited" : false,
      "full_text" : "@blocoalcantara thank you for setting it &lt;3 please never take it down",
      "lang" : "en"
    }
  },
  {
    "tweet" : {
      "edit_info" : {
        "initial" : {
          "editTweetIds" : [
            "2020257335473078338"
          ],
          "editableUntil" : "2026-02-07T23:04:18.000Z",
          "editsRemaining" : "5",
          "isEditEligible" : true
        }
      },
      "retweeted" : false,
      "source" : "<a href=\"http://twitter.com/download/iphone\" rel=\"nofollow\">Twitter for iPhone</a>",
      "entities" : {
        "hashtags" : [
          {
            "text" : "climbing",
            "indices" : [
              "160",
              "169"
            ]
          }
        ],
        "symbols" : [ ],
        "user_mentions" : [
          {
            "name" : "Bloco Alcântara",
            "screen_name" : "blocoalcantara",
            "indices" : [
              "24",
              "39"
            ],
            "id_str" : "1228333070545846276",
            "id" : "1228333070545846276"
          }
        ],
        "urls" : [ ]
      },
      "display_text_range" : [
        "0",
        "169"
      ],
      "favorite_count" : "143",
      "id_str" : "2020257335473078338",
      "truncated" : false,
      "retweet_count" : "2",
      "id" : "2020257335473078338",
      "created_at" : "Sat Feb 07 22:04:18 +0000 2026",
      "favorited" : false,
      "full_text" : "Sent the purple roof at @blocoalcantara, my first 7a! Third session, a heel hook I didn't believe in, and a lot of yelling. 2025 goals, finished a little late. #climbing",
      "lang" : "en"
    }
  },
  {
    "tweet" : {
      "edit_info" : {
        "initial" : {
          "editTweetIds" : [
            "2011777421669302337"
          ],
          "editableUntil" : "2026-01-15T13:28:09.000Z",
          "editsRemaining" : "5",
          "isEditEligible" : true
        }
      },
      "retweeted" : false,
      "source" : "<a href=\"https://mobile.twitter.com\" rel=\"nofollow\">Twitter Web App</a>",
      "entities" : {
        "hashtags" : [ ],
        "symbols" : [ ],
        "user_mentions" : [ ],
        "urls" : [ ]
      },
      "display_text_range" : [
        "0",
        "107"
      ],
      "favorite_count" : "160",
      "id_str" : "2011777421669302337",
      "truncated" : false,
      "retweet_count" : "33",
      "id" : "2011777421669302337",
      "created_at" : "Thu Jan 15 12:28:09 +0000 2026",
      "favorited" : false,
      "full_text" : "Six months of healthcare design: \"simple\" is expensive, and nurses are the best usability testers on earth.",
      "lang" : "en"
    }
  },
  {
    "tweet" : {
      "edit_info" : {
        "initial" : {
          "editTweetIds" : [
            "2003903937115062336"
          ],
          "editableUntil" : "2025-12-24T20:01:44.000Z",
          "editsRemaining" : "5",
          "isEditEligible" : true
        }
      },
      "retweeted" : false,
      "source" : "<a href=\"http://twitter.com/download/iphone\" rel=\"nofollow\">Twitter for iPhone</a>",
      "entities" : {
        "hashtags" : [ ],
        "symbols" : [ ],
        "user_mentions" : [ ],
        "urls" : [ ]
      },
      "display_text_range" : [
        "0",
        "146"
      ],
      "favorite_count" : "52",
      "id_str" : "2003903937115062336",
      "truncated" : false,
      "retweet_count" : "0",
      "id" : "2003903937115062336",
      "created_at" : "Wed Dec 24 19:01:44 +0000 2025",
      "favorited" : false,
      "full_text" : "God jul! Julbord in Örgryte: herring in five flavours, Janssons frestelse, and pappa explaining the julbock to Tiago for the second year in a row.",
      "lang" : "en"
    }
  },
  {
    "tweet" : {
      "edit_info" : {
        "initial" : {
          "editTweetIds" : [
            "2002447184032694335"
          ],
          "editableUntil" : "2025-12-20T19:33:07.000Z",
          "editsRemaining" : "5",
          "isEditEligible" : true
        }
      },
      "retweeted" : false,
      "source" : "<a href=\"http://twitter.com/download/iphone\" rel=\"nofollow\">Twitter for iPhone</a>",
      "entities" : {
        "hashtags" : [ ],
        "symbols" : [ ],
        "user_mentions" : [ ],
        "urls" : [ ]
      },
      "display_text_range" : [
        "0",
        "71"
      ],
      "favorite_count" : "38",
      "id_str" : "2002447184032694335",
      "truncated" : false,
      "retweet_count" : "0",
      "id" : "2002447184032694335",
      "created_at" : "Sat Dec 20 18:33:07 +0000 2025",
      "favorited" : false,
      "full_text" : "Lisbon 17° → Gothenburg −3°. My Portuguese coat is embarrassingly thin.",
      "lang" : "en"
    }
  },
  {
    "tweet" : {
      "edit_info" : {
        "initial" : {
          "editTweetIds" : [
            "1991268457903030334"
          ],
          "editableUntil" : "2025-11-19T23:12:51.000Z",
          "editsRemaining" : "5",
          "isEditEligible" : true
        }
      },
      "retweeted" : false,
      "source" : "<a href=\"https://mobile.twitter.com\" rel=\"nofollow\">Twitter Web App</a>",
      "entities" : {
        "hashtags" : [ ],
        "symbols" : [ ],
        "user_mentions" : [ ],
        "urls" : [ ]
      },
      "display_text_range" : [
        "0",
        "83"
      ],
      "favorite_count" : "44",
      "id_str" : "1991268457903030334",
      "truncated" : false,
      "retweet_count" : "4",
      "id" : "1991268457903030334",
      "created_at" : "Wed Nov 19 22:12:51 +0000 2025",
      "favorited" : false,
      "full_text" : "Figma variables finally made our dark mode not a crime scene. Pleasantly surprised.",
      "lang" : "en"
    }
  },
  {
    "tweet" : {
      "edit_info" : {
        "initial" : {
          "editTweetIds" : [
            "1985658358199222333"
          ],
          "editableUntil" : "2025-11-04T11:40:19.000Z",
          "editsRemaining" : "5",
          "isEditEligible" : true
        }
      },
      "retweeted" : false,
      "source" : "<a href=\"http://twitter.com/download/iphone\" rel=\"nofollow\">Twitter for iPhone</a>",
      "entities" : {
        "hashtags" : [ ],
        "symbols" : [ ],
        "user_mentions" : [ ],
        "urls" : [ ]
      },
      "display_text_range" : [
        "0",
        "80"
      ],
      "favorite_count" : "187",
      "id_str" : "1985658358199222333",
      "truncated" : false,
      "retweet_count" : "0",
      "id" : "1985658358199222333",
      "created_at" : "Tue Nov 04 10:40:19 +0000 2025",
      "favorited" : false,
      "full_text" : "Pimenta's recheck: all clear 🐈 She celebrated by knocking a glass off the table.",
      "lang" : "en"
    }
  },
  {
    "tweet" : {
      "edit_info" : {
        "initial" : {
          "editTweetIds" : [
            "1980608915305398332"
          ],
          "editableUntil" : "2025-10-21T13:15:38.000Z",
          "editsRemaining" : "5",
          "isEditEligible" : true
        }
      },
      "retweeted" : false,
      "source" : "<a href=\"https://mobile.twitter.com\" rel=\"nofollow\">Twitter Web App</a>",
      "entities" : {
        "hashtags" : [ ],
        "symbols" : [ ],
        "user_mentions" : [ ],
        "urls" : [ ]
      },
      "display_text_range" : [
        "0",
        "189"
      ],
      "favorite_count" : "210",
      "id_str" : "1980608915305398332",
      "truncated" : false,
      "retweet_count" : "45",
      "id" : "1980608915305398332",
      "created_at" : "Tue Oct 21 12:15:38 +0000 2025",
      "favorited" : false,
      "full_text" : "Pimenta (cat, 6, tabby, many opinions) had urinary crystals. No blockage, special diet now. If your cat is straining in the litter box and not peeing, go to the vet the same day. Seriously.",
      "lang" : "en"
    }
  },
  {
    "tweet" : {
      "edit_info" : {
        "initial" : {
          "editTweetIds" : [
            "1972073271784374331"
          ],
          "editableUntil" : "2025-09-27T23:58:02.000Z",
          "editsRemaining" : "5",
          "isEditEligible" : true
        }
      },
      "retweeted" : false,
      "source" : "<a href=\"http://twitter.com/download/iphone\" rel=\"nofollow\">Twitter for iPhone</a>",
      "entities" : {
        "hashtags" : [ ],
        "symbols" : [ ],
        "user_mentions" : [ ],
        "urls" : [ ]
      },
      "display_text_range" : [
        "0",
        "113"
      ],
      "favorite_count" : "31",
      "id_str" : "1972073271784374331",
      "truncated" : false,
      "retweet_count" : "0",
      "id" : "1972073271784374331",
      "created_at" : "Sat Sep 27 22:58:02 +0000 2025",
      "favorited" : false,
      "full_text" : "Farewell session for a friend who's moving to Berlin. Climbing gyms are really just community centres with chalk.",
      "lang" : "en"
    }
  },
  {
    "tweet" : {
      "edit_info" : {
        "initial" : {
          "editTweetIds" : [
            "1963281918325686330"
          ],
          "editableUntil" : "2025-09-03T17:44:20.000Z",
          "editsRemaining" : "5",
          "isEditEligible" : true
        }
      },
      "retweeted" : false,
      "source" : "<a href=\"https://mobile.twitter.com\" rel=\"nofollow\">Twitter Web App</a>",
      "entities" : {
        "hashtags" : [ ],
        "symbols" : [ ],
        "user_mentions" : [ ],
        "urls" : [
          {
            "url" : "https://t.co/TiPUInnDX3",
            "expanded_url" : "https://mayalindqvist.design/notes/focus-states",
            "display_url" : "mayalindqvist.design/notes/focus…",
            "indices" : [
              "121",
              "144"
            ]
          }
        ]
      },
      "display_text_range" : [
        "0",
        "144"
      ],
      "favorite_count" : "27",
      "id_str" : "1963281918325686330",
      "truncated" : false,
      "retweet_count" : "8",
      "id" : "1963281918325686330",
      "created_at" : "Wed Sep 03 16:44:20 +0000 2025",
      "favorited" : false,
      "full_text" : "My notes from this week's accessibility workshop, mostly about focus states and why \"outline: none\" should need a permit https://t.co/TiPUInnDX3",
      "lang" : "en"
    }
  },
  {
    "tweet" : {
      "edit_info" : {
        "initial" : {
          "editTweetIds" : [
            "1957031776220086329"
          ],
          "editableUntil" : "2025-08-17T11:48:30.000Z",
          "editsRemaining" : "5",
          "isEditEligible" : true
        }
      },
      "retweeted" : false,
      "source" : "<a href=\"http://twitter.com/download/iphone\" rel=\"nofollow\">Twitter for iPhone</a>",
      "entities" : {
        "hashtags" : [ ],
        "symbols" : [ ],
        "user_mentions" : [
          {
            "name" : "Elin Lindqvist",
            "screen_name" : "elinlindqvist",
            "indices" : [
              "0",
              "14"
            ],
            "id_str" : "818367432094646274",
            "id" : "818367432094646274"
          }
        ],
        "urls" : [ ]
      },
      "display_text_range" : [
        "15",
        "102"
      ],
      "favorite_count" : "5",
      "in_reply_to_status_id_str" : "1957028429165494275",
      "in_reply_to_status_id" : "1957028429165494275",
      "id_str" : "1957031776220086329",
      "truncated" : false,
      "retweet_count" : "0",
      "id" : "1957031776220086329",
      "in_reply_to_user_id" : "818367432094646274",
      "in_reply_to_user_id_str" : "818367432094646274",
      "in_reply_to_screen_name" : "elinlindqvist",
      "created_at" : "Sun Aug 17 10:48:30 +0000 2025",
      "favorited" : false,
      "full_text" : "@elinlindqvist you were the most beautiful bride Styrsö has ever seen. Also you owe me a pair of shoes",
      "lang" : "en"
    }
  },
  {
    "tweet" : {
      "edit_info" : {
        "initial" : {
          "editTweetIds" : [
            "1957024629126070328"
          ],
          "editableUntil" : "2025-08-17T11:20:06.000Z",
          "editsRemaining" : "5",
          "isEditEligible" : true
        }
      },
      "retweeted" : false,
      "source" : "<a href=\"http://twitter.com/download/iphone\" rel=\"nofollow\">Twitter for iPhone</a>",
      "entities" : {
        "hashtags" : [ ],
        "symbols" : [ ],
        "user_mentions" : [ ],
        "urls" : [ ]
      },
      "display_text_range" : [
        "0",
        "146"
      ],
      "favorite_count" : "102",
      "id_str" : "1957024629126070328",
      "truncated" : false,
      "retweet_count" : "0",
      "id" : "1957024629126070328",
      "created_at" : "Sun Aug 17 10:20:06 +0000 2025",
      "favorited" : false,
      "full_text" : "My little sister got married on an island in the Gothenburg archipelago yesterday and I did not cry during my speech (I cried during my speech) ❤️",
      "lang" : "en"
    }
  },
  {
    "tweet" : {
      "edit_info" : {
        "initial" : {
          "editTweetIds" : [
            "1955511051613110327"
          ],
          "editableUntil" : "2025-08-13T07:05:41.000Z",
          "editsRemaining" : "5",
          "isEditEligible" : true
        }
      },
      "retweeted" : false,
      "source" : "<a href=\"http://twitter.com/download/iphone\" rel=\"nofollow\">Twitter for iPhone</a>",
      "entities" : {
        "hashtags" : [ ],
        "symbols" : [ ],
        "user_mentions" : [ ],
        "urls" : [ ]
      },
      "display_text_range" : [
        "0",
        "85"
      ],
      "favorite_count" : "19",
      "id_str" : "1955511051613110327",
      "truncated" : false,
      "retweet_count" : "0",
      "id" : "1955511051613110327",
      "created_at" : "Wed Aug 13 06:05:41 +0000 2025",
      "favorited" : false,
      "full_text" : "LIS → GOT. Sister's wedding on Saturday. Speech: written. Rewritten. Rewritten again.",
      "lang" : "en"
    }
  },
  {
    "tweet" : {
      "edit_info" : {
        "initial" : {
          "editTweetIds" : [
            "1947710732497846326"
          ],
          "editableUntil" : "2025-07-22T18:30:00.000Z",
          "editsRemaining" : "5",
          "isEditEligible" : true
        }
      },
      "retweeted" : false,
      "source" : "<a href=\"https://mobile.twitter.com\" rel=\"nofollow\">Twitter Web App</a>",
      "entities" : {
        "hashtags" : [ ],
        "symbols" : [ ],
        "user_mentions" : [ ],
        "urls" : [ ]
      },
      "display_text_range" : [
        "0",
        "112"
      ],
      "favorite_count" : "131",
      "id_str" : "1947710732497846326",
      "truncated" : false,
      "retweet_count" : "29",
      "id" : "1947710732497846326",
      "created_at" : "Tue Jul 22 17:30:00 +0000 2025",
      "favorited" : false,
      "full_text" : "Patients don't read your microcopy. They read the first three words and the button. Write the first three words.",
      "lang" : "en"
    }
  },
  {
    "tweet" : {
      "edit_info" : {
        "initial" : {
          "editTweetIds" : [
            "1942128248091574325"
          ],
          "editableUntil" : "2025-07-07T08:47:12.000Z",
          "editsRemaining" : "5",
          "isEditEligible" : true
        }
      },
      "retweeted" : false,
      "source" : "<a href=\"http://twitter.com/download/iphone\" rel=\"nofollow\">Twitter for iPhone</a>",
      "entities" : {
        "hashtags" : [ ],
        "symbols" : [ ],
        "user_mentions" : [
          {
            "name" : "Verdelha Health",
            "screen_name" : "verdelhahealth",
            "indices" : [
              "11",
              "26"
            ],
            "id_str" : "1444957966955446277",
            "id" : "1444957966955446277"
          }
        ],
        "urls" : [ ]
      },
      "display_text_range" : [
        "0",
        "69"
      ],
      "favorite_count" : "96",
      "id_str" : "1942128248091574325",
      "truncated" : false,
      "retweet_count" : "3",
      "id" : "1942128248091574325",
      "created_at" : "Mon Jul 07 07:47:12 +0000 2025",
      "favorited" : false,
      "full_text" : "Day one at @verdelhahealth ☕ New laptop, new badge, same bad posture.",
      "lang" : "en"
    }
  },
  {
    "tweet" : {
      "edit_info" : {
        "initial" : {
          "editTweetIds" : [
            "1938659319608246324"
          ],
          "editableUntil" : "2025-06-27T19:02:55.000Z",
          "editsRemaining" : "5",
          "isEditEligible" : true
        }
      },
      "retweeted" : false,
      "source" : "<a href=\"https://mobile.twitter.com\" rel=\"nofollow\">Twitter Web App</a>",
      "entities" : {
        "hashtags" : [ ],
        "symbols" : [ ],
        "user_mentions" : [ ],
        "urls" : [ ]
      },
      "display_text_range" : [
        "0",
        "151"
      ],
      "favorite_count" : "74",
      "id_str" : "1938659319608246324",
      "truncated" : false,
      "retweet_count" : "1",
      "id" : "1938659319608246324",
      "created_at" : "Fri Jun 27 18:02:55 +0000 2025",
      "favorited" : false,
      "full_text" : "Last day at Ondina after three and a half years. Thank you to a brilliant team. I got a tiny cactus called Figma and I will keep it alive out of spite.",
      "lang" : "en"
    }
  },
  {
    "tweet" : {
      "edit_info" : {
        "initial" : {
          "editTweetIds" : [
            "1928906841387958323"
          ],
          "editableUntil" : "2025-05-31T21:10:03.000Z",
          "editsRemaining" : "5",
          "isEditEligible" : true
        }
      },
      "retweeted" : false,
      "source" : "<a href=\"http://twitter.com/download/iphone\" rel=\"nofollow\">Twitter for iPhone</a>",
      "entities" : {
        "hashtags" : [ ],
        "symbols" : [ ],
        "user_mentions" : [ ],
        "urls" : [ ]
      },
      "display_text_range" : [
        "0",
        "137"
      ],
      "favorite_count" : "48",
      "id_str" : "1928906841387958323",
      "truncated" : false,
      "retweet_count" : "0",
      "id" : "1928906841387958323",
      "created_at" : "Sat May 31 20:10:03 +0000 2025",
      "favorited" : false,
      "full_text" : "Moving day done. 47 boxes, 3 floors, 0 lifts. Thank you to the best climbing crew, who carried a washing machine like it was a crash pad.",
      "lang" : "en"
    }
  },
  {
    "tweet" : {
      "edit_info" : {
        "initial" : {
          "editTweetIds" : [
            "1921903364535222322"
          ],
          "editableUntil" : "2025-05-12T13:20:44.000Z",
          "editsRemaining" : "5",
          "isEditEligible" : true
        }
      },
      "retweeted" : false,
      "source" : "<a href=\"http://twitter.com/download/iphone\" rel=\"nofollow\">Twitter for iPhone</a>",
      "entities" : {
        "hashtags" : [ ],
        "symbols" : [ ],
        "user_mentions" : [ ],
        "urls" : [ ]
      },
      "display_text_range" : [
        "0",
        "130"
      ],
      "favorite_count" : "57",
      "id_str" : "1921903364535222322",
      "truncated" : false,
      "retweet_count" : "0",
      "id" : "1921903364535222322",
      "created_at" : "Mon May 12 12:20:44 +0000 2025",
      "favorited" : false,
      "full_text" : "We got the flat!! Rua de São Bento, third floor, a balcony the size of a yoga mat and azulejos in the hallway. Moving on the 31st.",
      "lang" : "en"
    }
  },
  {
    "tweet" : {
      "edit_info" : {
        "initial" : {
          "editTweetIds" : [
            "1916763060433846321"
          ],
          "editableUntil" : "2025-04-28T08:55:00.000Z",
          "editsRemaining" : "5",
          "isEditEligible" : false
        }
      },
      "retweeted" : false,
      "source" : "<a href=\"https://mobile.twitter.com\" rel=\"nofollow\">Twitter Web App</a>",
      "entities" : {
        "hashtags" : [ ],
        "symbols" : [ ],
        "user_mentions" : [
          {
            "name" : "Noor Haddad",
            "screen_name" : "noorhaddad_cph",
            "indices" : [
              "3",
              "18"
            ],
            "id_str" : "704984607224758275",
            "id" : "704984607224758275"
          }
        ],
        "urls" : [ ]
      },
      "display_text_range" : [
        "0",
        "144"
      ],
      "favorite_count" : "0",
      "id_str" : "1916763060433846321",
      "truncated" : false,
      "retweet_count" : "212",
      "id" : "1916763060433846321",
      "created_at" : "Mon Apr 28 07:55:00 +0000 2025",
      "favorited" : false,
      "full_text" : "RT @noorhaddad_cph: Research tip: if five users all say the button is \"fine\", watch their cursor. The cursor never lies. Half of them hovered o…",
      "lang" : "en"
    }
  },
  {
    "tweet" : {
      "edit_info" : {
        "initial" : {
          "editTweetIds" : [
            "1913996115833782320"
          ],
          "editableUntil" : "2025-04-20T17:40:09.000Z",
          "editsRemaining" : "5",
          "isEditEligible" : true
        }
      },
      "retweeted" : false,
      "source" : "<a href=\"http://twitter.com/download/iphone\" rel=\"nofollow\">Twitter for iPhone</a>",
      "entities" : {
        "hashtags" : [ ],
        "symbols" : [ ],
        "user_mentions" : [ ],
        "urls" : [ ]
      },
      "display_text_range" : [
        "0",
        "120"
      ],
      "favorite_count" : "35",
      "id_str" : "1913996115833782320",
      "truncated" : false,
      "retweet_count" : "0",
      "id" : "1913996115833782320",
      "created_at" : "Sun Apr 20 16:40:09 +0000 2025",
      "favorited" : false,
      "full_text" : "Easter lunch in Matosinhos with Tiago's family. Cabrito, folar, and his avó asking when we're getting married (3 times).",
      "lang" : "en"
    }
  },
  {
    "tweet" : {
      "edit_info" : {
        "initial" : {
          "editTweetIds" : [
            "1913715525284790319"
          ],
          "editableUntil" : "2025-04-19T23:05:11.000Z",
          "editsRemaining" : "5",
          "isEditEligible" : true
        }
      },
      "retweeted" : false,
      "source" : "<a href=\"http://twitter.com/download/iphone\" rel=\"nofollow\">Twitter for iPhone</a>",
      "entities" : {
        "hashtags" : [ ],
        "symbols" : [ ],
        "user_mentions" : [ ],
        "urls" : [ ]
      },
      "display_text_range" : [
        "0",
        "74"
      ],
      "favorite_count" : "22",
      "id_str" : "1913715525284790319",
      "truncated" : false,
      "retweet_count" : "0",
      "id" : "1913715525284790319",
      "created_at" : "Sat Apr 19 22:05:11 +0000 2025",
      "favorited" : false,
      "full_text" : "Porto: two francesinhas in 24 hours. My cardiologist doesn't need to know.",
      "lang" : "en"
    }
  },
  {
    "tweet" : {
      "edit_info" : {
        "initial" : {
          "editTweetIds" : [
            "1909519707141046318"
          ],
          "editableUntil" : "2025-04-08T09:12:30.000Z",
          "editsRemaining" : "5",
          "isEditEligible" : true
        }
      },
      "retweeted" : false,
      "source" : "<a href=\"https://mobile.twitter.com\" rel=\"nofollow\">Twitter Web App</a>",
      "entities" : {
        "hashtags" : [ ],
        "symbols" : [ ],
        "user_mentions" : [ ],
        "urls" : [ ]
      },
      "display_text_range" : [
        "0",
        "82"
      ],
      "favorite_count" : "88",
      "id_str" : "1909519707141046318",
      "truncated" : false,
      "retweet_count" : "17",
      "id" : "1909519707141046318",
      "created_at" : "Tue Apr 08 08:12:30 +0000 2025",
      "favorited" : false,
      "full_text" : "Design systems are 20% components and 80% convincing people to use the components.",
      "lang" : "en"
    }
  },
  {
    "tweet" : {
      "edit_info" : {
        "initial" : {
          "editTweetIds" : [
            "1903802166145974317"
          ],
          "editableUntil" : "2025-03-23T14:33:02.000Z",
          "editsRemaining" : "5",
          "isEditEligible" : true
        }
      },
      "retweeted" : false,
      "source" : "<a href=\"http://twitter.com/download/iphone\" rel=\"nofollow\">Twitter for iPhone</a>",
      "entities" : {
        "hashtags" : [ ],
        "symbols" : [ ],
        "user_mentions" : [
          {
            "name" : "Inês Carvalho",
            "screen_name" : "inescarvalho_art",
            "indices" : [
              "10",
              "27"
            ],
            "id_str" : "1130543749395382273",
            "id" : "1130543749395382273"
          }
        ],
        "urls" : [ ]
      },
      "display_text_range" : [
        "0",
        "102"
      ],
      "favorite_count" : "11",
      "in_reply_to_status_id_str" : "1903801604109238316",
      "in_reply_to_status_id" : "1903801604109238316",
      "id_str" : "1903802166145974317",
      "truncated" : false,
      "retweet_count" : "0",
      "id" : "1903802166145974317",
      "in_reply_to_user_id" : "1029294739813302279",
      "in_reply_to_user_id_str" : "1029294739813302279",
      "in_reply_to_screen_name" : "mayalindq",
      "created_at" : "Sun Mar 23 13:33:02 +0000 2025",
      "favorited" : false,
      "full_text" : "Thank you @inescarvalho_art for pacing me through km 15–18 and then leaving me in the dust (1:49:50!!)",
      "lang" : "en"
    }
  },
  {
    "tweet" : {
      "edit_info" : {
        "initial" : {
          "editTweetIds" : [
            "1903801604109238316"
          ],
          "editableUntil" : "2025-03-23T14:30:48.000Z",
          "editsRemaining" : "5",
          "isEditEligible" : true
        }
      },
      "retweeted" : false,
      "source" : "<a href=\"http://twitter.com/download/iphone\" rel=\"nofollow\">Twitter for iPhone</a>",
      "entities" : {
        "hashtags" : [
          {
            "text" : "running",
            "indices" : [
              "120",
              "128"
            ]
          }
        ],
        "symbols" : [ ],
        "user_mentions" : [ ],
        "urls" : [ ],
        "media" : [
          {
            "expanded_url" : "https://x.com/mayalindq/status/1903801604109238316/photo/1",
            "indices" : [
              "129",
              "152"
            ],
            "url" : "https://t.co/bHzevlhlH5",
            "media_url" : "http://pbs.twimg.com/media/GmQSNEh5WRv.jpg",
            "id_str" : "1903801520223158281",
            "id" : "1903801520223158281",
            "media_url_https" : "https://pbs.twimg.com/media/GmQSNEh5WRv.jpg",
            "sizes" : {
              "small" : {
                "w" : "510",
                "h" : "680",
                "resize" : "fit"
              },
              "thumb" : {
                "w" : "150",
                "h" : "150",
                "resize" : "crop"
              },
              "large" : {
                "w" : "1536",
                "h" : "2048",
                "resize" : "fit"
              },
              "medium" : {
                "w" : "900",
                "h" : "1200",
                "resize" : "fit"
              }
            },
            "type" : "photo",
            "display_url" : "pic.x.com/bHzevlhlH5"
          }
        ]
      },
      "display_text_range" : [
        "0",
        "128"
      ],
      "favorite_count" : "63",
      "id_str" : "1903801604109238316",
      "truncated" : false,
      "retweet_count" : "2",
      "id" : "1903801604109238316",
      "created_at" : "Sun Mar 23 13:30:48 +0000 2025",
      "favorited" : false,
      "full_text" : "Lisbon half marathon: 1:54:08. Goal was sub 1:55. The bridge was windy, the orange t-shirt is huge, and I'm very happy. #running https://t.co/bHzevlhlH5",
      "lang" : "en",
      "extended_entities" : {
        "media" : [
          {
            "expanded_url" : "https://x.com/mayalindq/status/1903801604109238316/photo/1",
            "indices" : [
              "129",
              "152"
            ],
            "url" : "https://t.co/bHzevlhlH5",
            "media_url" : "http://pbs.twimg.com/media/GmQSNEh5WRv.jpg",
            "id_str" : "1903801520223158281",
            "id" : "1903801520223158281",
            "media_url_https" : "https://pbs.twimg.com/media/GmQSNEh5WRv.jpg",
            "sizes" : {
              "small" : {
                "w" : "510",
                "h" : "680",
                "resize" : "fit"
              },
              "thumb" : {
                "w" : "150",
                "h" : "150",
                "resize" : "crop"
              },
              "large" : {
                "w" : "1536",
                "h" : "2048",
                "resize" : "fit"
              },
              "medium" : {
                "w" : "900",
                "h" : "1200",
                "resize" : "fit"
              }
            },
            "type" : "photo",
            "display_url" : "pic.x.com/bHzevlhlH5"
          }
        ]
      },
      "possibly_sensitive" : false
    }
  },
  {
    "tweet" : {
      "edit_info" : {
        "initial" : {
          "editTweetIds" : [
            "1898833983697846315"
          ],
          "editableUntil" : "2025-03-09T21:31:15.000Z",
          "editsRemaining" : "5",
          "isEditEligible" : true
        }
      },
      "retweeted" : false,
      "source" : "<a href=\"https://mobile.twitter.com\" rel=\"nofollow\">Twitter Web App</a>",
      "entities" : {
        "hashtags" : [ ],
        "symbols" : [ ],
        "user_mentions" : [
          {
            "name" : "Inês Carvalho",
            "screen_name" : "inescarvalho_art",
            "indices" : [
              "0",
              "17"
            ],
            "id_str" : "1130543749395382273",
            "id" : "1130543749395382273"
          }
        ],
        "urls" : [ ]
      },
      "display_text_range" : [
        "18",
        "67"
      ],
      "favorite_count" : "2",
      "in_reply_to_status_id_str" : "1898831160931254275",
      "in_reply_to_status_id" : "1898831160931254275",
      "id_str" : "1898833983697846315",
      "truncated" : false,
      "retweet_count" : "0",
      "id" : "1898833983697846315",
      "in_reply_to_user_id" : "1130543749395382273",
      "in_reply_to_user_id_str" : "1130543749395382273",
      "in_reply_to_screen_name" : "inescarvalho_art",
      "created_at" : "Sun Mar 09 20:31:15 +0000 2025",
      "favorited" : false,
      "full_text" : "@inescarvalho_art taper week means I'm allowed to be grumpy, right?",
      "lang" : "en"
    }
  },
  {
    "tweet" : {
      "edit_info" : {
        "initial" : {
          "editTweetIds" : [
            "1889280231601078314"
          ],
          "editableUntil" : "2025-02-11T12:48:03.000Z",
          "editsRemaining" : "5",
          "isEditEligible" : true
        }
      },
      "retweeted" : false,
      "source" : "<a href=\"https://mobile.twitter.com\" rel=\"nofollow\">Twitter Web App</a>",
      "entities" : {
        "hashtags" : [
          {
            "text" : "running",
            "indices" : [
              "68",
              "76"
            ]
          }
        ],
        "symbols" : [ ],
        "user_mentions" : [ ],
        "urls" : [ ]
      },
      "display_text_range" : [
        "0",
        "76"
      ],
      "favorite_count" : "9",
      "id_str" : "1889280231601078314",
      "truncated" : false,
      "retweet_count" : "0",
      "id" : "1889280231601078314",
      "created_at" : "Tue Feb 11 11:48:03 +0000 2025",
      "favorited" : false,
      "full_text" : "16k along the Tejo this morning &amp; I only complained for 15 of them. #running",
      "lang" : "en"
    }
  },
  {
    "tweet" : {
      "edit_info" : {
        "initial" : {
          "editTweetIds" : [
            "1881084884546486313"
          ],
          "editableUntil" : "2025-01-19T22:02:40.000Z",
          "editsRemaining" : "5",
          "isEditEligible" : true
        }
      },
      "retweeted" : false,
      "source" : "<a href=\"https://mobile.twitter.com\" rel=\"nofollow\">Twitter Web App</a>",
      "entities" : {
        "hashtags" : [ ],
        "symbols" : [ ],
        "user_mentions" : [ ],
        "urls" : [ ]
      },
      "display_text_range" : [
        "0",
        "96"
      ],
      "favorite_count" : "41",
      "id_str" : "1881084884546486313",
      "truncated" : false,
      "retweet_count" : "6",
      "id" : "1881084884546486313",
      "created_at" : "Sun Jan 19 21:02:40 +0000 2025",
      "favorited" : false,
      "full_text" : "Hot take: most \"onboarding\" flows are just a tour of the settings page with confetti at the end.",
      "lang" : "en"
    }
  },
  {
    "tweet" : {
      "edit_info" : {
        "initial" : {
          "editTweetIds" : [
            "1874761392452534312"
          ],
          "editableUntil" : "2025-01-02T11:15:22.000Z",
          "editsRemaining" : "5",
          "isEditEligible" : true
        }
      },
      "retweeted" : false,
      "source" : "<a href=\"https://mobile.twitter.com\" rel=\"nofollow\">Twitter Web App</a>",
      "entities" : {
        "hashtags" : [ ],
        "symbols" : [ ],
        "user_mentions" : [ ],
        "urls" : [ ]
      },
      "display_text_range" : [
        "0",
        "136"
      ],
      "favorite_count" : "14",
      "id_str" : "1874761392452534312",
      "truncated" : false,
      "retweet_count" : "0",
      "id" : "1874761392452534312",
      "created_at" : "Thu Jan 02 10:15:22 +0000 2025",
      "favorited" : false,
      "full_text" : "2025 goals: run a half marathon under 1:55, climb a 7a, stop redesigning my portfolio every three weeks. Two out of three would be fine.",
      "lang" : "en"
    }
  }
]