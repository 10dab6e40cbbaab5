window.YTD.direct_messages_group.part0 = [
  {
    "dmConversation" : {
      "conversationId" : "1954271483786166274",
      "messages" : [
        {
          "messageCreate" : {
            "reactions" : [ ],
            "urls" : [ ],
            "text" : "4 minutes 40. Everyone cried. Perfect.",
            "mediaUrls" : [ ],
            "senderId" : "704984607224758275",
            "id" : "1956853266641846297",
            "createdAt" : "2025-08-16T22:59:10.925Z"
          }
        },
        {
          "messageCreate" : {
            "reactions" : [ ],
            "urls" : [ ],
            "text" : "Sommarstuga opening, clothes joke in the middle, Portuguese at the end. Max 4 minutes. Thank you both ❤️",
            "mediaUrls" : [ ],
            "senderId" : "1029294739813302279",
            "id" : "1954275468374966296",
            "createdAt" : "2025-08-09T20:15:55.888Z"
          }
        },
        {
          "messageCreate" : {
            "reactions" : [ ],
            "urls" : [ ],
            "text" : "3!!! \"que sejam muito felizes\" at the end though, not the start",
            "mediaUrls" : [ ],
            "senderId" : "1130543749395382273",
            "id" : "1954273736127414295",
            "createdAt" : "2025-08-09T20:09:02.851Z"
          }
        },
        {
          "messageCreate" : {
            "reactions" : [ ],
            "urls" : [ ],
            "text" : "2 then 1. The sommarstuga story is the one that makes your mamma cry, that's the goal",
            "mediaUrls" : [ ],
            "senderId" : "704984607224758275",
            "id" : "1954273140536246294",
            "createdAt" : "2025-08-09T20:06:40.814Z"
          }
        },
        {
          "messageCreate" : {
            "reactions" : [ ],
            "urls" : [ ],
            "text" : "Ok you two, you've both met Elin. Wedding speech draft is in my head and it's a mess. Opening line options:\n1) a joke about her stealing my clothes\n2) the sommarstuga story\n3) start in Portuguese to confuse everyone",
            "mediaUrls" : [ ],
            "senderId" : "1029294739813302279",
            "id" : "1954271764804534293",
            "createdAt" : "2025-08-09T20:01:12.777Z"
          }
        },
        {
          "conversationNameUpdate" : {
            "initiatingUserId" : "1029294739813302279",
            "name" : "speech help 🥂",
            "createdAt" : "2025-08-09T20:00:35.000Z"
          }
        },
        {
          "joinConversation" : {
            "initiatingUserId" : "1029294739813302279",
            "participantsSnapshot" : [
              "1029294739813302279",
              "704984607224758275",
              "1130543749395382273"
            ],
            "createdAt" : "2025-08-09T20:00:05.000Z"
          }
        }
      ]
    }
  }
]